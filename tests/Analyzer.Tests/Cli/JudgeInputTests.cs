using Canary.Analyzer.Tests.Support;

namespace Canary.Analyzer.Tests.Cli;

/// <summary>`canary judge` on input that is not a judge document: refused at once with exit 2 and one line, never read without bound or ended in a fault.</summary>
public sealed class JudgeInputTests
{
    [Fact]
    public async Task Judging_dev_zero_exits_2_at_the_first_byte()
    {
        var run = await CanaryRunner.RunProcessAsync("judge", "/dev/zero");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(["canary judge: /dev/zero:1:1: malformed JSON: '0x00' is an invalid start of a value"], run.ErrorLines);
    }

    [Fact]
    public async Task Random_bytes_on_standard_input_exit_2_naming_where_they_stop_being_json()
    {
        var run = await CanaryRunner.RunProcessAsync(new Dictionary<string, string>(), "/dev/urandom", "judge", "-");
        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Matches(@"^canary judge: -:\d+:\d+: ", line);
        Assert.Empty(run.Stdout);
    }

    [Fact]
    public async Task Input_larger_than_Judge_MaxInputBytes_exits_2_naming_the_setting()
    {
        var file = CanaryRunner.TempFile("big.json", new string(' ', 5000) + "{}");
        var run = await CanaryRunner.RunProcessAsync(new Dictionary<string, string> { ["CANARY__Judge__MaxInputBytes"] = "1000" }, null, "judge", file);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"canary judge: {file}: is larger than 1000 bytes, the most Judge:MaxInputBytes allows (set CANARY__Judge__MaxInputBytes to judge more)"], run.ErrorLines);
    }

    [Fact]
    public async Task A_directory_is_said_to_be_a_directory()
    {
        var folder = Directory.CreateTempSubdirectory("canary-test-").FullName;
        var run = await CanaryRunner.RunAsync("judge", folder);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"canary judge: {folder}: is a directory; give a JSON file (or - for standard input)"], run.ErrorLines);
    }

    [Fact]
    public async Task A_byte_that_is_not_UTF_8_inside_a_string_exits_2_naming_where_it_is()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("canary-test-").FullName, "bad.json");
        var bytes = "{\"config\": {\"metrics\": [\n  {\"name\": \"p9"u8.ToArray().Concat(new byte[] { 0xFF }).Concat("\"}]}, \"data\": []}"u8.ToArray()).ToArray();
        await File.WriteAllBytesAsync(file, bytes);
        var run = await CanaryRunner.RunAsync("judge", file);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal([$"canary judge: {file}:2:15 config.metrics[0].name: byte 0xFF at offset 39 is not UTF-8; JSON text must be UTF-8"], run.ErrorLines);
    }
}
