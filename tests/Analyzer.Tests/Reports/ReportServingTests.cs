using System.Net;
using System.Text.Json.Nodes;
using Canary.Analyzer.Reports;
using Canary.Analyzer.Serving;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;
using Microsoft.Playwright;
using Quartz;

namespace Canary.Analyzer.Tests.Reports;

/// <summary>
/// The report where people read it: made by canary serve's cron job and served by the API, and
/// report.html rendered in Debian's Chromium (Playwright): the charts load, no console error.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class ReportServingTests(PrometheusFixture prometheus)
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    [Fact]
    public void The_default_schedule_is_Monday_six_oclock_in_the_configured_zone()
    {
        // The trigger as canary serve builds it.
        var trigger = TriggerBuilder.Create().StartAt(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)).WithCronSchedule(ReportJob.DefaultCron, cron => cron.InTimeZone(Berlin)).Build();
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 5, 0, 0, TimeSpan.Zero), trigger.GetFireTimeAfter(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 6, 1, 4, 0, 0, TimeSpan.Zero), trigger.GetFireTimeAfter(new DateTimeOffset(2026, 5, 28, 12, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public async Task Serve_makes_the_report_on_its_schedule()
    {
        var (serve, week, _) = await ServeTheLastWeeksReportAsync();
        await using (serve)
        {
            using var viewer = serve.Client(ServeHost.ViewerToken);
            Assert.Contains(week.Label, await viewer.GetStringAsync(new Uri("/api/v1/reports", UriKind.Relative)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_kept_report_is_served_as_JSON()
    {
        var (serve, week, history) = await ServeTheLastWeeksReportAsync();
        await using (serve)
        {
            using var viewer = serve.Client(ServeHost.ViewerToken);
            var json = JsonNode.Parse(await viewer.GetStringAsync(new Uri($"/api/v1/reports/{week.Label}", UriKind.Relative)))!;
            Assert.Equal((week.Label, "Europe/Berlin"), (json["week"]!.GetValue<string>(), json["timeZone"]!.GetValue<string>()));
            Assert.Equal(history.Releases.Count(r => r.Started >= week.Start && r.Started < week.End), json["overall"]!["started"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task A_kept_report_is_served_as_HTML_to_a_browser()
    {
        var (serve, week, _) = await ServeTheLastWeeksReportAsync();
        await using (serve)
        {
            using var viewer = serve.Client(ServeHost.ViewerToken);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/v1/reports/{week.Label}", UriKind.Relative));
            request.Headers.Accept.ParseAdd("text/html");
            using var html = await viewer.SendAsync(request);
            Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
            Assert.Contains($"<h1>Releases in {week.Label}</h1>", await html.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_report_that_was_never_made_is_a_404()
    {
        var (serve, _, _) = await ServeTheLastWeeksReportAsync();
        await using (serve)
        {
            using var viewer = serve.Client(ServeHost.ViewerToken);
            using var missing = await viewer.GetAsync(new Uri("/api/v1/reports/2001-W01", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
    }

    [Fact]
    public async Task A_report_is_never_served_without_a_token()
    {
        var (serve, week, _) = await ServeTheLastWeeksReportAsync();
        await using (serve)
        {
            using var anonymous = serve.Client(null);
            using var refused = await anonymous.GetAsync(new Uri($"/api/v1/reports/{week.Label}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Report_html_renders_in_Chromium_with_every_chart_loaded_without_a_console_error()
    {
        var folder = Directory.CreateTempSubdirectory("canary-report-html-").FullName;
        var store = Path.Combine(folder, "canary.db");
        await using (var seed = new SqliteAnalysisStore(store))
        {
            await seed.MigrateAsync(CancellationToken.None);
            await ReleaseHistory.Generate(WeeklyReportContract.HistoryStart, WeeklyReportContract.HistoryEnd, services: 12, seed: 11).WriteAsync(seed);
        }

        var run = await CanaryRunner.RunAsync("report", "--week", "2026-W47", "--store", $"sqlite:{store}", "--output", Path.Combine(folder, "out"));
        Assert.True(run.ExitCode == 0, run.Stderr);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Chromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(new Uri(Path.Combine(folder, "out", "report.html")).AbsoluteUri);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Releases in 2026-W47");
        var widths = await page.EvaluateAsync<int[]>("() => [...document.images].map(i => i.complete ? i.naturalWidth : 0)");
        Assert.Equal([760, 760, 760, 760], widths);
        Assert.Empty(errors);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.Screenshot("weekly-report"), FullPage = true });
    }

    /// <summary>
    /// canary serve on a store holding nine weeks of releases, making reports every second (instead of Mondays, so the test
    /// need not wait a week) in Berlin's time zone; returned once the report of the last complete week is made.
    /// </summary>
    private async Task<(ServeHost Serve, ReportWeek Week, ReleaseHistory History)> ServeTheLastWeeksReportAsync()
    {
        var week = ReportWeek.LastComplete(DateTimeOffset.UtcNow, Berlin);
        var store = Path.Combine(Directory.CreateTempSubdirectory("canary-report-serve-").FullName, "canary.db");
        var history = ReleaseHistory.Generate(week.Previous(8).Start, week.End, services: 5, seed: 8);
        await using (var seed = new SqliteAnalysisStore(store))
        {
            await seed.MigrateAsync(CancellationToken.None);
            await history.WriteAsync(seed);
        }

        var serve = await ServeHost.StartAsync(prometheus.Url, $"sqlite:{store}", settings: new Dictionary<string, string>
        {
            ["CANARY__Canary__Reports__Cron"] = "* * * * * ?",
            ["CANARY__Canary__Reports__TimeZone"] = "Europe/Berlin",
        });
        try
        {
            using var viewer = serve.Client(ServeHost.ViewerToken);
            await Poll.UntilAsync(async () => (await viewer.GetStringAsync(new Uri("/api/v1/reports", UriKind.Relative))).Contains(week.Label, StringComparison.Ordinal), "the report to be made");
            return (serve, week, history);
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }
}
