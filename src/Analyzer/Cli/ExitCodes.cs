namespace Canary.Analyzer.Cli;

/// <summary>Exit statuses shared by every canary command (DESIGN.md, "The Judge contract").</summary>
public static class ExitCodes
{
    /// <summary>Done: a verdict was printed, whatever it is.</summary>
    public const int Done = 0;

    /// <summary>--gate was given and the verdict is not Pass.</summary>
    public const int GateFailed = 1;

    /// <summary>Bad input or usage; one line per problem on stderr.</summary>
    public const int BadInput = 2;

    /// <summary>The metrics source failed; no verdict was printed.</summary>
    public const int SourceFailed = 3;
}
