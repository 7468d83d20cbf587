using Canary.Testing;

namespace Canary.Analyzer.Tests.Support;

/// <summary>The tests that share one real Prometheus (started once for the collection).</summary>
[CollectionDefinition(Name)]
public sealed class SharedPrometheus : ICollectionFixture<PrometheusFixture>
{
    public const string Name = "prometheus";
}
