using System.Globalization;
using Xunit;

namespace Canary.Testing;

/// <summary>
/// A real PostgreSQL 15 from Debian's package: initdb into a temporary folder and pg_ctl start on a
/// free loopback port, run as the postgres user (initdb refuses root, and CI runs as root).
/// One server per test collection; each test takes a database of its own.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private int databases;

    public string Folder { get; } = Directory.CreateTempSubdirectory("canary-postgres-").FullName;

    public int Port { get; } = FreePort.Next();

    private string Data => Path.Combine(Folder, "data");

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 is not installed in {Bin}; ./build.sh test installs it (apt-get install -y postgresql)");
        }

        // The postgres user must own the folder it initialises and the socket folder.
        await ExternalProcess.RunAsync("chown", ["-R", "postgres:postgres", Folder], Folder, TimeSpan.FromSeconds(30));
        await AsPostgresAsync(Path.Combine(Bin, "initdb"), "-D", Data, "--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync");
        await StartAsync();
    }

    /// <summary>A new, empty database and its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"canary_{Interlocked.Increment(ref databases).ToString(CultureInfo.InvariantCulture)}";
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = connection.CreateCommand();
        create.CommandText = $"CREATE DATABASE {name}";
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Stops the server at once (as a crash would), keeping its data; <see cref="StartAsync"/> brings it back.</summary>
    public Task StopAsync() => AsPostgresAsync(Path.Combine(Bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop");

    public Task StartAsync() => AsPostgresAsync(Path.Combine(Bin, "pg_ctl"), "-D", Data, "-l", Path.Combine(Folder, "server.log"), "-w", "-t", "60",
        "-o", $"-p {Port.ToString(CultureInfo.InvariantCulture)} -c listen_addresses=127.0.0.1 -k {Folder} -c fsync=off -c max_connections=200", "start");

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database};Pooling=true;Timeout=30";

    public async Task DisposeAsync()
    {
        try
        {
            await AsPostgresAsync(Path.Combine(Bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Not started; nothing to stop.
        }

        Directory.Delete(Folder, recursive: true);
    }

    private Task<string> AsPostgresAsync(params string[] command) =>
        ExternalProcess.RunAsync("runuser", ["-u", "postgres", "--", .. command], Folder, TimeSpan.FromMinutes(2));
}
