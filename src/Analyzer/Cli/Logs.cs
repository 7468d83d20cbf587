using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Canary.Analyzer.Cli;

/// <summary>One logging setup for the long-running commands (serve, local): canary's own lines at Information, ASP.NET Core's and Quartz's only from Warning (no line per HTTP request).</summary>
internal static class Logs
{
    public static LoggerConfiguration Configure(LoggerConfiguration configuration, bool json)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.MinimumLevel.Information()
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("System.Net.Http", LogEventLevel.Warning)
            .MinimumLevel.Override("Quartz", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        return json
            ? configuration.WriteTo.Console(new RenderedCompactJsonFormatter())
            : configuration.WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture);
    }
}
