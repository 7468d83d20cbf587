namespace Canary.Analyzer.Tests.Support;

/// <summary>Waits for a condition by polling it, with a deadline (never a fixed sleep).</summary>
internal static class Poll
{
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s for {what}");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>The processes of this machine, found by their command line or working folder (/proc), to check none is left behind.</summary>
internal static class Processes
{
    /// <summary>Pids whose command line contains text, or whose working folder is under it.</summary>
    public static IReadOnlyList<int> Matching(string text)
    {
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var commandLine = File.ReadAllText(Path.Combine(entry, "cmdline")).Replace('\0', ' ');
                var folder = new FileInfo(Path.Combine(entry, "cwd")).LinkTarget ?? string.Empty;
                if (commandLine.Contains(text, StringComparison.Ordinal) || folder.StartsWith(text, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone in between, or not ours to read.
            }
        }

        return found;
    }

    /// <summary>Clean-up after a failed test: kills what a test's processes left.</summary>
    public static void KillMatching(string text)
    {
        foreach (var pid in Matching(text))
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Already gone.
            }
        }
    }
}
