namespace Canary.Analyzer.Tests.Support;

/// <summary>The files of a local release as the tests write them: the sample service's process file and checkout's Canary behind an HAProxy.</summary>
internal static class LocalFiles
{
    /// <summary>A process file running the built canary's sample service, which answers "hello from VERSION", probed every 200 ms.</summary>
    public static string SampleService(string version) =>
        $"command: [{Path.Combine(AppContext.BaseDirectory, "canary")}, sample-service, --port, \"{{port}}\", --version, {version}]\nreadinessProbe: {{period: 200ms}}\n";

    /// <summary>shop/checkout of kind Process (checkout.process.yaml beside it) behind the HAProxy backend checkout, without analysis, with the analysis section given.</summary>
    public static string Canary(string runtimeApi, string analysis) => $$$"""
        apiVersion: canary.dev/v1alpha1
        kind: Canary
        metadata: {name: checkout, namespace: shop}
        spec:
          targetRef: {kind: Process, name: checkout, path: checkout.process.yaml}
          router: haproxy
          service: {haproxy: {runtimeApi: {{{runtimeApi}}}, backend: checkout}}
          skipAnalysis: true
          analysis: {{{analysis}}}
        """;
}
