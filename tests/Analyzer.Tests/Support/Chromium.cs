using Microsoft.Playwright;

namespace Canary.Analyzer.Tests.Support;

/// <summary>Debian's Chromium for Playwright (DESIGN: real components), and where screenshots go as test artifacts.</summary>
internal static class Chromium
{
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = "/usr/bin/chromium",
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });

    /// <summary>artifacts/screenshots/NAME.png at the repository root (created when missing).</summary>
    public static string Screenshot(string name)
    {
        var folder = Path.Combine(Repository.Root, "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, $"{name}.png");
    }
}
