using Canary.Analyzer.Rollouts;
using Canary.Analyzer.Storage;
using Canary.Analyzer.Tests.Support;
using Canary.Testing;
using Microsoft.Playwright;

namespace Canary.Analyzer.Tests.Api;

/// <summary>
/// The dashboard in a real browser: Playwright driving Debian's Chromium headless against
/// `canary serve`. A screenshot of each page goes to artifacts/screenshots/ at the repository root.
/// </summary>
[Collection(SharedPrometheus.Name)]
public sealed class DashboardBrowserTests(PrometheusFixture prometheus) : IAsyncLifetime
{
    private readonly List<string> consoleErrors = [];
    private ServeHost serve = null!;
    private GateServer gate = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;
    private string store = null!;

    public async Task InitializeAsync()
    {
        // 500 rollouts in the store, as another replica would have written them.
        var folder = Directory.CreateTempSubdirectory("canary-dashboard-").FullName;
        store = Path.Combine(folder, "canary.db");
        await using (var seed = new SqliteAnalysisStore(store))
        {
            await seed.MigrateAsync(CancellationToken.None);
            for (var i = 0; i < 500; i++)
            {
                var phase = (RolloutPhase)(i % 4 == 0 ? (int)RolloutPhase.Progressing : i % 4 == 1 ? (int)RolloutPhase.Succeeded : i % 4 == 2 ? (int)RolloutPhase.Failed : (int)RolloutPhase.Initialized);
                await SaveAsync(seed, $"shop-{i:000}/svc", new RolloutState { Phase = phase, CanaryWeight = phase == RolloutPhase.Progressing ? 10 : 0, LastScore = 80 + (i % 20), Revision = "r1" }, null);
            }
        }

        await prometheus.WaitForScrapesAsync("e2e-gated");
        gate = await GateServer.StartAsync();
        serve = await ServeHost.StartAsync(prometheus.Url, $"sqlite:{store}");
        playwright = await Playwright.CreateAsync();
        browser = await Chromium.LaunchAsync(playwright);
    }

    public async Task DisposeAsync()
    {
        await browser.DisposeAsync();
        playwright.Dispose();
        await serve.DisposeAsync();
        await gate.DisposeAsync();
    }

    [Fact]
    public async Task The_list_shows_all_500_rollouts_with_their_weights()
    {
        var page = await SignedInPageAsync(ServeHost.ViewerToken);
        await page.GotoAsync(new Uri(serve.Url, "/").AbsoluteUri);
        await Assertions.Expect(page.Locator("#rollouts tbody tr")).ToHaveCountAsync(500);
        await Assertions.Expect(page.Locator("tr[data-key='shop-040/svc'] .weight")).ToHaveTextAsync("10 %");
        await Screenshot(page, "rollouts");
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task The_filter_narrows_the_list_to_the_matching_rollouts()
    {
        var page = await SignedInPageAsync(ServeHost.ViewerToken);
        await page.GotoAsync(new Uri(serve.Url, "/").AbsoluteUri);
        await Assertions.Expect(page.Locator("#rollouts tbody tr")).ToHaveCountAsync(500);

        await page.FillAsync("#filter", "shop-04");
        await Assertions.Expect(page.Locator("#rollouts tbody tr:not([hidden])")).ToHaveCountAsync(10);
        await Assertions.Expect(page.Locator("#count")).ToHaveTextAsync("10 of 500 rollouts");
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task The_open_list_follows_a_weight_change_without_a_reload()
    {
        var page = await SignedInPageAsync(ServeHost.ViewerToken);
        await page.GotoAsync(new Uri(serve.Url, "/").AbsoluteUri);
        await Assertions.Expect(page.Locator("tr[data-key='shop-040/svc'] .weight")).ToHaveTextAsync("10 %");

        // Another replica moves shop-040 to 40 %: the open page shows it without a reload.
        await using (var writer = new SqliteAnalysisStore(store))
        {
            var stored = (await writer.GetRolloutAsync("shop-040/svc", CancellationToken.None))!;
            await SaveAsync(writer, "shop-040/svc", stored.ReadState() with { CanaryWeight = 40, LastScore = 97.5 }, stored.Version);
        }

        await Assertions.Expect(page.Locator("tr[data-key='shop-040/svc'] .weight")).ToHaveTextAsync("40 %", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("tr[data-key='shop-040/svc'] .score")).ToHaveTextAsync("97.5");
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task A_viewer_sees_the_rollout_page_without_buttons()
    {
        await WaitAtTheGateAsync();

        var viewer = await SignedInPageAsync(ServeHost.ViewerToken);
        await viewer.GotoAsync(new Uri(serve.Url, "/rollouts/e2e-gated/checkout").AbsoluteUri);
        await Assertions.Expect(viewer.Locator("#phase")).ToHaveTextAsync("WaitingPromotion");
        await Assertions.Expect(viewer.Locator("#approve")).ToHaveCountAsync(0);
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task An_operator_approves_a_release_from_its_page()
    {
        await WaitAtTheGateAsync();

        var page = await SignedInPageAsync(ServeHost.OperatorToken);
        await page.GotoAsync(new Uri(serve.Url, "/rollouts/e2e-gated/checkout").AbsoluteUri);
        await Assertions.Expect(page.Locator("svg#weights polyline")).ToHaveCountAsync(1);
        await Screenshot(page, "rollout");
        await page.ClickAsync("#approve");
        await Assertions.Expect(page.Locator("#sent")).ToContainTextAsync("approve sent");
        await Poll.UntilAsync(() => serve.CanaryStatus()?["phase"]?.GetValue<string>() == "Succeeded", "the approved release to be promoted", TimeSpan.FromMinutes(1));
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Succeeded");
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task The_analysis_page_draws_both_cohorts()
    {
        await WaitAtTheGateAsync();

        var page = await SignedInPageAsync(ServeHost.ViewerToken);
        await page.GotoAsync(new Uri(serve.Url, "/rollouts/e2e-gated/checkout").AbsoluteUri);
        await page.Locator("a[href^='/analyses/']").First.ClickAsync();
        await Assertions.Expect(page.Locator("svg.series")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("svg.distribution")).ToHaveCountAsync(1);
        await Screenshot(page, "analysis");
        Assert.Empty(consoleErrors);
    }

    [Fact]
    public async Task Without_a_token_the_pages_ask_for_one()
    {
        var page = await browser.NewPageAsync();
        var answer = await page.GotoAsync(new Uri(serve.Url, "/").AbsoluteUri);
        Assert.Equal(401, answer!.Status);
        await Assertions.Expect(page.Locator("input[name=token]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_at_sign_in()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(serve.Url, "/").AbsoluteUri);
        await page.FillAsync("input[name=token]", "wrong");
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("That token is not known.");
        await Screenshot(page, "sign-in");
    }

    /// <summary>Starts the gated release and waits until it waits at its confirm-promotion gate.</summary>
    private async Task WaitAtTheGateAsync()
    {
        serve.StartGatedRelease(new Uri(gate.Url, "promote"));
        await Poll.UntilAsync(() => serve.CanaryStatus()?["phase"]?.GetValue<string>() == "Initialized", "the rollout to be initialized");
        serve.ReleaseVersion2();
        await Poll.UntilAsync(() => serve.CanaryStatus()?["phase"]?.GetValue<string>() == "WaitingPromotion", "the release to wait at the gate", TimeSpan.FromMinutes(2));
    }

    private async Task<IPage> SignedInPageAsync(string token)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(serve.Url, "/").AbsoluteUri);
        await page.FillAsync("input[name=token]", token);
        await page.ClickAsync("button[type=submit]");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Rollouts");

        // From here on (signed in) no page may log an error: a failed request, a script error.
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Add($"{page.Url}: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => consoleErrors.Add($"{page.Url}: {error}");
        return page;
    }

    private static Task<byte[]> Screenshot(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Chromium.Screenshot($"dashboard-{name}"), FullPage = true });

    private static Task<long> SaveAsync(SqliteAnalysisStore store, string key, RolloutState state, long? version)
    {
        var decision = new DecisionRecord(Guid.NewGuid(), key, DateTimeOffset.UtcNow, state.Phase.ToString(), state.CanaryWeight, "Hold", "seeded by the test", "[]", null);
        return store.SaveTickAsync(new TickRecord(key, RolloutStates.Write(state), decision, null, version), CancellationToken.None);
    }
}
