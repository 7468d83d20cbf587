using Canary.Analyzer.Workloads;

namespace Canary.Analyzer.Tests.Workloads;

public sealed class ProcessSpecReaderTests
{
    private const string Checkout = """
        command: [./bin/app, --port, "{port}", --threads, 4]
        env: {MODE: fast, LISTEN: ":{port}"}
        workingDir: data
        readinessProbe: {path: /ready, initialDelay: 2s, period: 5s, timeout: 500ms, failureThreshold: 4}
        """;

    [Fact]
    public void A_process_file_reads_its_command_with_paths_relative_to_its_folder()
    {
        var (spec, problems) = ProcessSpecReader.Read("p.yaml", Checkout, "/srv/checkout");
        Assert.Empty(problems);
        Assert.Equal(["/srv/checkout/bin/app", "--port", "8081", "--threads", "4"], spec!.Arguments(8081));
        Assert.Equal("/srv/checkout/data", spec.WorkingDirectory);
    }

    [Fact]
    public void A_process_file_reads_its_environment_with_the_port_filled_in()
    {
        var spec = ProcessSpecReader.Read("p.yaml", Checkout, "/srv/checkout").Spec!;
        Assert.Equal("fast", spec.Environment["MODE"]);
        Assert.Equal(":8081", ProcessSpec.Fill(spec.Environment["LISTEN"], 8081));
    }

    [Fact]
    public void A_process_file_reads_its_readiness_probe()
    {
        var spec = ProcessSpecReader.Read("p.yaml", Checkout, "/srv/checkout").Spec!;
        Assert.Equal(new ReadinessProbe { Path = "/ready", InitialDelay = TimeSpan.FromSeconds(2), Period = TimeSpan.FromSeconds(5), Timeout = TimeSpan.FromMilliseconds(500), FailureThreshold = 4 }, spec.Probe);
    }

    [Fact]
    public void The_revision_changes_exactly_when_a_field_does()
    {
        string Revision(string text) => ProcessSpecReader.Read("p.yaml", text, "/srv").Spec!.Revision;
        var v1 = Revision("command: [app, --version, v1]\n");
        Assert.Equal(v1, Revision("# a comment changes nothing\ncommand: [app, --version, v1]\n"));
        Assert.Matches("^[0-9a-f]{10}$", v1);
        Assert.NotEqual(v1, Revision("command: [app, --version, v2]\n"));
        Assert.NotEqual(v1, Revision("command: [app, --version, v1]\nenv: {A: b}\n"));
        Assert.NotEqual(v1, Revision("command: [app, --version, v1]\nreadinessProbe: {period: 2s}\n"));
    }

    [Fact]
    public void Every_problem_names_its_line_with_its_field()
    {
        var (spec, problems) = ProcessSpecReader.Read("p.yaml", """
            command: []
            env: {A: [1]}
            readinessProbe:
              period: soon
              failureThreshold: 0
              port: 80
            """, "/srv");
        Assert.Null(spec);
        Assert.Equal(
        [
            "p.yaml:1 command: must be a non-empty list of words (the program, then its arguments), got an array",
            "p.yaml:2 env.A: must be a string, got an array",
            "p.yaml:4 readinessProbe.period: \"soon\" is not a duration such as 30s, 1m or 1h30m",
            "p.yaml:5 readinessProbe.failureThreshold: must be a whole number from 1 to 100, got 0",
            "p.yaml:6 readinessProbe.port: unknown field; expected one of path, initialDelay, period, timeout, failureThreshold",
        ], problems);
        Assert.Equal(["p.yaml:1 command: is required: the program and its arguments, e.g. [canary, sample-service, --port, \"{port}\"]"],
            ProcessSpecReader.Read("p.yaml", "env: {}\n", "/srv").Problems);
    }
}
