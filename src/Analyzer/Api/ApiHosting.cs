using System.Data.Common;
using Canary.Analyzer.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>The API and the dashboard in a web host: `canary serve` and `canary local --urls` both use these calls.</summary>
internal static partial class ApiHosting
{
    /// <summary>The rate-limiter policy of the reads of rollout history.</summary>
    public const string HistoryReads = "history-reads";

    /// <summary>Registers what the endpoints need besides the store, the templates, the Prometheus client and an <see cref="IRolloutCommands"/>.</summary>
    public static void AddCanaryApi(WebApplicationBuilder builder, ApiOptions api)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(api);

        // The API reads bodies itself up to Api:MaxBodyBytes (413 beyond); Kestrel stops anything far larger.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = (api.MaxBodyBytes * 2) + 4096);
        var services = builder.Services;
        services.AddSingleton(api);
        services.AddSingleton<ApiAccess>();
        services.AddSingleton<AnalysisRunner>();
        services.AddHostedService(p => p.GetRequiredService<AnalysisRunner>());
        services.AddProblemDetails();

        // History reads take memory in proportion to their page: a few at a time for each caller (by token name), the rest queued,
        // so one reader's flood waits in its own queue and never in anyone else's (429 with Retry-After when its queue is full).
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(HistoryReads, context =>
            {
                var caller = context.RequestServices.GetRequiredService<ApiAccess>().Identify(context, out _)?.Name ?? "(no token)";
                return System.Threading.RateLimiting.RateLimitPartition.GetConcurrencyLimiter(caller, _ => new System.Threading.RateLimiting.ConcurrencyLimiterOptions
                {
                    PermitLimit = Math.Max(1, api.ConcurrentHistoryReads),
                    QueueLimit = 100,
                    QueueProcessingOrder = System.Threading.RateLimiting.QueueProcessingOrder.OldestFirst,
                });
            });
            limiter.OnRejected = async (context, token) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "1";
                await Problems.Of(StatusCodes.Status429TooManyRequests, "Too many reads", "too many of your reads of rollout history are waiting; ask again in a second").ExecuteAsync(context.HttpContext);
            };
        });
        services.AddOpenApi(options => ApiSecurity.Describe(options));
    }

    /// <summary>problem+json for errors (503 naming the store when it fails), the OpenAPI document, /api/v1, the dashboard, /healthz and /readyz.</summary>
    public static void MapCanaryApi(WebApplication app, Func<IServiceProvider, string?>? notReady = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(StoreFaultsAsync);
        app.UseRateLimiter();
        app.MapOpenApi();
        ApiEndpoints.MapCanaryApi(app);
        app.MapDashboard();

        // Liveness says the process answers; readiness also needs the store (and what the host adds, e.g. the Canaries listed).
        app.MapGet("/healthz", () => Results.Text("ok\n")).ExcludeFromDescription();
        app.MapGet("/readyz", async (IServiceProvider services, IAnalysisStore store, CancellationToken token) =>
        {
            if (notReady?.Invoke(services) is { } reason)
            {
                return Results.Text($"not ready: {reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            try
            {
                await store.ListRolloutsAsync(token);
                return Results.Text("ok\n");
            }
            catch (DbException e)
            {
                return Results.Text($"not ready: the store {Shown(store)} cannot be read: {e.Message}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        }).ExcludeFromDescription();
    }

    /// <summary>A store that fails (down, corrupt, full) is the environment, not a bug: 503 naming the store, never a 500.</summary>
    private static async Task StoreFaultsAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (e is DbException or StoreException && !context.Response.HasStarted)
        {
            var stores = context.RequestServices.GetRequiredService<IAnalysisStore>();
            var reason = e is StoreException fault ? fault.Reason : e.Message;
            StoreUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Canary.Api"), context.Request.Method, context.Request.Path, stores.Description, reason);
            var store = Shown(stores);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = "10";
            await Problems.Of(StatusCodes.Status503ServiceUnavailable, "Store unavailable", $"the store {store} cannot be used: {reason}; nothing was changed, ask again later",
                [new FieldProblem("store", reason)]).ExecuteAsync(context);
        }
    }

    /// <summary>The store as HTTP answers name it: an SQLite file by its name only (the log has the whole path), PostgreSQL by host, port and database.</summary>
    private static string Shown(IAnalysisStore store) =>
        store.Description.StartsWith("sqlite:", StringComparison.Ordinal) ? $"sqlite:{Path.GetFileName(store.Description["sqlite:".Length..])}" : store.Description;

    [LoggerMessage(Level = LogLevel.Warning, Message = "API: 503 for {Method} {Path}: the store {Store} cannot be used: {Reason}")]
    private static partial void StoreUnavailable(ILogger logger, string method, string path, string store, string reason);
}
