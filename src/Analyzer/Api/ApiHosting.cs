using System.Data.Common;
using Canary.Analyzer.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>The API and the dashboard in a web host: `canary serve` and `canary local --urls` both use these calls.</summary>
public static partial class ApiHosting
{
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
        services.AddOpenApi(options => ApiSecurity.Describe(options));
    }

    /// <summary>problem+json for errors (503 naming the store when it fails), the OpenAPI document, /api/v1, the dashboard, /healthz and /readyz.</summary>
    public static void MapCanaryApi(WebApplication app, Func<IServiceProvider, string?>? notReady = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(StoreFaultsAsync);
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
                return Results.Text($"not ready: the store {store.Description} cannot be read: {e.Message}\n", statusCode: StatusCodes.Status503ServiceUnavailable);
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
            var store = context.RequestServices.GetRequiredService<IAnalysisStore>().Description;
            var reason = e is StoreException fault ? fault.Reason : e.Message;
            StoreUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Canary.Api"), context.Request.Method, context.Request.Path, store, reason);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = "10";
            await Problems.Of(StatusCodes.Status503ServiceUnavailable, "Store unavailable", $"the store {store} cannot be used: {reason}; nothing was changed, ask again later",
                [new FieldProblem("store", reason)]).ExecuteAsync(context);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API: 503 for {Method} {Path}: the store {Store} cannot be used: {Reason}")]
    private static partial void StoreUnavailable(ILogger logger, string method, string path, string store, string reason);
}
