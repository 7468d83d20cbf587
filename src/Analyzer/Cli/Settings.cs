using Canary.Analyzer.Documents;
using Canary.Analyzer.Metrics;
using Microsoft.Extensions.Configuration;

namespace Canary.Analyzer.Cli;

/// <summary>
/// Service settings: appsettings.json next to the executable, then CANARY__Section__Key environment
/// variables (e.g. CANARY__Prometheus__Url), then command-line flags, each overriding the one before.
/// </summary>
internal static class Settings
{
    public static IConfiguration Load()
    {
        try
        {
            return new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true, reloadOnChange: false)
                .AddEnvironmentVariables("CANARY__")
                .Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or System.Text.Json.JsonException)
        {
            throw new InputException($"appsettings.json: {e.Message}");
        }
    }

    /// <summary>The Prometheus section bound onto options, with --prometheus (urlFlag) over its URL; a value that cannot be bound is bad input naming the setting.</summary>
    public static PrometheusOptions Prometheus(IConfiguration configuration, string? urlFlag = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new PrometheusOptions();
        try
        {
            configuration.GetSection("Prometheus").Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new InputException($"Prometheus settings (appsettings.json or CANARY__Prometheus__*): {e.Message}");
        }

        if (urlFlag is not null)
        {
            options.Url = Uri.TryCreate(urlFlag, UriKind.Absolute, out var uri) ? uri : throw new InputException($"--prometheus: \"{urlFlag}\" is not an absolute http or https URL");
        }

        return options;
    }

    /// <summary>The Prometheus settings with --prometheus over them, checked: every problem is bad input naming its setting.</summary>
    public static PrometheusOptions CheckedPrometheus(IConfiguration configuration, string? urlFlag)
    {
        var options = Prometheus(configuration, urlFlag);
        return options.Validate() is { Count: > 0 } problems ? throw new InputException(problems) : options;
    }

    /// <summary>The queries folder: --queries, else Canary:Queries, else queries/ next to the executable.</summary>
    public static TemplateLibrary Templates(IConfiguration configuration, string? flag)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var folder = flag ?? configuration["Canary:Queries"];
        if (folder is null)
        {
            return TemplateLibrary.Default();
        }

        return Directory.Exists(folder) ? new TemplateLibrary(folder) : throw new InputException($"--queries: {folder}: no such folder");
    }

    /// <summary>The store: --store, else Canary:Store, else sqlite:canary.db; a location that cannot be opened is bad input.</summary>
    public static (Storage.IAnalysisStore Store, string Location) Store(IConfiguration configuration, string? flag)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var location = flag ?? configuration["Canary:Store"] ?? "sqlite:canary.db";
        try
        {
            return (Storage.StoreLocation.Open(location), location);
        }
        catch (ArgumentException e)
        {
            throw new InputException($"--store: {e.Message}");
        }
    }

    /// <summary>The Api section (tokens, limits); a token without a name, or with both or neither of Token and File, is bad input.</summary>
    public static Api.ApiOptions Api(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var api = new Api.ApiOptions();
        try
        {
            configuration.GetSection("Api").Bind(api);
        }
        catch (InvalidOperationException e)
        {
            throw new InputException($"Api settings (appsettings.json or CANARY__Api__*): {e.Message}");
        }

        return api.Tokens.FirstOrDefault(t => string.IsNullOrEmpty(t.Name) || (t.Token is null) == (t.File is null)) is { } broken
            ? throw new InputException($"Api:Tokens: each token needs a Name and either Token or File (\"{broken.Name}\" does not)")
            : api;
    }
}
