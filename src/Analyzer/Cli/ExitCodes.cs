namespace Canary.Analyzer.Cli;

/// <summary>Exit statuses shared by every canary command (DESIGN.md, "The Judge contract").</summary>
internal static class ExitCodes
{
    /// <summary>Done: a verdict was printed, whatever it is.</summary>
    public const int Done = 0;

    /// <summary>--gate was given and the verdict is not Pass.</summary>
    public const int GateFailed = 1;

    /// <summary>Bad input or usage; one line per problem on stderr.</summary>
    public const int BadInput = 2;

    /// <summary>An external system failed — the metrics source, the store or the Kubernetes API; one line names it and what is wrong, and no verdict was printed.</summary>
    public const int ExternalFailed = 3;

    /// <summary>A fault inside canary itself (a bug): one line, never a stack trace.</summary>
    public const int InternalError = 70;

    /// <summary>Interrupted (Ctrl-C, or SIGTERM for the commands that own processes).</summary>
    public const int Interrupted = 130;
}
