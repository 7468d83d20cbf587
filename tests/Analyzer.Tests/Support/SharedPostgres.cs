using Canary.Testing;

namespace Canary.Analyzer.Tests.Support;

/// <summary>The tests that share one real PostgreSQL (started once for the collection; each test makes its own database).</summary>
[CollectionDefinition(Name)]
public sealed class SharedPostgres : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
