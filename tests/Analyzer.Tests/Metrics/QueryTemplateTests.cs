using System.Text;
using Canary.Analyzer.Metrics;

namespace Canary.Analyzer.Tests.Metrics;

public class QueryTemplateTests
{
    private const string ErrorRate = """
        # kind: ratio
        # unit: ratio
        # direction: increase
        # description: share of requests answered with 5xx
        sum(rate(http_requests_total{namespace="{{namespace}}", {{cohort}}, code=~"5.."}[{{interval}}])) or vector(0)
        /
        sum(rate(http_requests_total{namespace="{{namespace}}", {{cohort}}}[{{interval}}]))
        """;

    private static readonly HashSet<string> NoVariables = [];

    [Fact]
    public void A_template_reads_its_kind_direction_placeholders_from_its_text()
    {
        var template = QueryTemplate.Parse("queries/error-rate.promql", ErrorRate, NoVariables);
        Assert.Equal("ratio", template.Kind);
        Assert.Equal("increase", template.Direction);
        Assert.Equal(["namespace", "cohort", "interval"], template.Placeholders);
    }

    [Fact]
    public void A_template_renders_with_its_cohort_interval_variables()
    {
        var template = QueryTemplate.Parse("queries/error-rate.promql", ErrorRate, NoVariables);
        var query = template.Render(PromQl.Matcher("version", "v2"), "1m", new Dictionary<string, string> { ["namespace"] = "shop" });
        Assert.StartsWith("""sum(rate(http_requests_total{namespace="shop", version="v2", code=~"5.."}[1m])) or vector(0)""", query, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\"} or vector(1) #")]
    [InlineData("x\\\"}) + on() vector(1e9) or (\"")]
    [InlineData("line\nbreak\"}")]
    public void A_hostile_value_stays_inside_its_string_literal(string hostile)
    {
        var template = QueryTemplate.Parse("q.promql", ErrorRate, NoVariables);
        var benign = template.Render(PromQl.Matcher("pod", "p", regex: true), "5m", new Dictionary<string, string> { ["namespace"] = "ns" });
        var attacked = template.Render(PromQl.Matcher("pod", hostile, regex: true), "5m", new Dictionary<string, string> { ["namespace"] = hostile });

        // Outside string literals the two queries are the same text: the value changed no structure.
        Assert.Equal(Skeleton(benign), Skeleton(attacked));
        Assert.Contains(hostile, Literals(attacked));
    }

    [Fact]
    public void Every_problem_of_a_template_is_reported_at_its_file_line()
    {
        const string broken = """
            # kind: heatmap
            # owner: team-a
            # direction: up
            sum(rate(x{namespace={{namespace}}, {{cohort}}, job="{{job}}"}[{{interval}}]))
            """;
        var error = Assert.Throws<TemplateException>(() => QueryTemplate.Parse("queries/broken.promql", broken, NoVariables));
        Assert.Equal(
        [
            "queries/broken.promql:1: kind: \"heatmap\" is not one of ratio, latency, count, gauge, events, histogram",
            "queries/broken.promql:2: unknown header key \"owner\"; expected kind, unit, direction, description",
            "queries/broken.promql:3: direction: \"up\" is not one of increase, decrease, either",
            "queries/broken.promql:4: {{namespace}} must stand inside a double-quoted string, e.g. label=\"{{namespace}}\", so its value cannot change the query",
            "queries/broken.promql:4: unknown placeholder {{job}}; known: cohort, interval, namespace, range",
        ], error.Problems);
    }

    [Fact]
    public void A_variable_the_config_defines_is_a_known_placeholder()
    {
        var template = QueryTemplate.Parse("q.promql", "# kind: count\nsum(x{job=\"{{job}}\", {{cohort}}})", new HashSet<string> { "job" });
        Assert.Equal("sum(x{job=\"api\\\"\", app=\"a\"})", template.Render("app=\"a\"", "1m", new Dictionary<string, string> { ["job"] = "api\"" }));
        Assert.Throws<ArgumentException>(() => template.Render("app=\"a\"", "1m", new Dictionary<string, string>()));
    }

    [Theory]
    [InlineData("1m", true)]
    [InlineData("1h30m", true)]
    [InlineData("500ms", true)]
    [InlineData("1 m", false)]
    [InlineData("5", false)]
    [InlineData("1m]) or vector(1", false)]
    public void Interval_must_be_a_PromQL_duration(string interval, bool valid)
    {
        var template = QueryTemplate.Parse("q.promql", "# kind: gauge\navg_over_time(x{{{cohort}}}[{{interval}}])", NoVariables);
        if (valid)
        {
            Assert.Equal($"avg_over_time(x{{a=\"b\"}}[{interval}])", template.Render("a=\"b\"", interval, new Dictionary<string, string>()));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => template.Render("a=\"b\"", interval, new Dictionary<string, string>()));
        }
    }

    [Fact]
    public void Label_names_are_checked()
    {
        Assert.Throws<ArgumentException>(() => PromQl.Matcher("pod\"} or", "x"));
        Assert.Equal("app=\"a\\\\b\"", PromQl.Matcher("app", "a\\b"));
    }

    /// <summary>The query with every string literal's content removed.</summary>
    private static string Skeleton(string query) => Split(query).Skeleton;

    /// <summary>The unescaped contents of the query's string literals.</summary>
    private static List<string> Literals(string query) => Split(query).Literals;

    private static (string Skeleton, List<string> Literals) Split(string query)
    {
        var skeleton = new StringBuilder();
        var literals = new List<string>();
        for (var i = 0; i < query.Length; i++)
        {
            if (query[i] != '"')
            {
                skeleton.Append(query[i]);
                continue;
            }

            var literal = new StringBuilder();
            for (i++; query[i] != '"'; i++)
            {
                if (query[i] == '\\')
                {
                    i++;
                    literal.Append(query[i] switch { 'n' => '\n', 'r' => '\r', 't' => '\t', var c => c });
                }
                else
                {
                    literal.Append(query[i]);
                }
            }

            skeleton.Append("\"\"");
            literals.Add(literal.ToString());
        }

        return (skeleton.ToString(), literals);
    }
}
