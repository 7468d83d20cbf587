using Canary.Analyzer.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using Canary.Analyzer.Api;
using Serilog;

namespace Canary.Analyzer.Cli;

/// <summary>
/// `canary serve`: the service. Watches Canary resources, runs each rollout's ticks with Quartz,
/// keeps state and history in the store, and serves /healthz, /readyz and /metrics.
/// </summary>
internal static class ServeCommand
{
    public const string Usage = """
        usage: canary serve [--urls http://0.0.0.0:8080] [--store sqlite:PATH | postgres:CONNECTION]
                            [--kubeconfig FILE] [--prometheus URL] [--queries DIR] [--log-format text|json]
          --store       default sqlite:canary.db (setting Canary:Store, env CANARY__Canary__Store)
          --kubeconfig  default $KUBECONFIG, ~/.kube/config, or the in-cluster service account
        """;

    private static readonly HashSet<string> Flags = ["--help"];
    private static readonly HashSet<string> ValueOptions = ["--urls", "--store", "--kubeconfig", "--prometheus", "--queries", "--log-format"];

    public static async Task<int> RunAsync(string[] words, TextWriter stdout, CancellationToken cancellationToken)
    {
        var line = CommandLine.Parse("serve", words, Flags, ValueOptions);
        if (line.Has("--help"))
        {
            await stdout.WriteLineAsync(Usage);
            return ExitCodes.Done;
        }

        var serve = ServeSettings.Read(line);
        await serve.Host.Store.MigrateAsync(cancellationToken);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddConfiguration(serve.Settings);
        builder.WebHost.UseUrls(serve.Urls);
        builder.Services.AddSerilog(configuration => Logs.Configure(configuration, serve.JsonLogs));
        ApiHosting.AddCanaryApi(builder, serve.Api);
        builder.Services.AddRollouts(serve.Host, serve.AddJobs).AddKubernetesRollouts(serve.Kubernetes);

        var app = builder.Build();
        ApiHosting.MapCanaryApi(app, services => services.GetRequiredService<CanaryRegistry>().Synced ? null : "the Canary resources have not been listed yet");
        app.MapMetrics("/metrics");
        await HostRun.StartAsync(app, cancellationToken);
        return await HostRun.UntilStoppedAsync(app, cancellationToken);
    }
}
