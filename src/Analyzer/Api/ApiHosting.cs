using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Canary.Analyzer.Api;

/// <summary>The API and the dashboard in a web host: `canary serve` and `canary local --urls` both use these two calls.</summary>
public static class ApiHosting
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
        services.AddOpenApi();
    }

    /// <summary>problem+json for errors, the OpenAPI document, /api/v1 and the dashboard.</summary>
    public static void MapCanaryApi(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi();
        ApiEndpoints.MapCanaryApi(app);
        app.MapDashboard();
    }
}
