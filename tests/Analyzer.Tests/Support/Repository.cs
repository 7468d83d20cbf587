namespace Canary.Analyzer.Tests.Support;

/// <summary>The repository the tests run from (the folder holding analysis.sln).</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "analysis.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no analysis.sln above {AppContext.BaseDirectory}");
    }
}
