using System.Data.Common;
using System.Globalization;

namespace Canary.Analyzer.Storage;

/// <summary>
/// The store's schema as numbered migrations, each applied once in a transaction and recorded in
/// schema_migrations; the same SQL runs on SQLite and PostgreSQL.
/// </summary>
internal static class StoreSchema
{
    // Migration 4 compacts the history of idle rollouts: of a run of decisions that repeat the one
    // before (same phase, weight, verdict, reason, revision and fault, no command, no analysis) only
    // the first is kept; from then on such ticks only update the rollout's own row. It also gives
    // analyses a summary column (verdict, reason, each metric's classification), so lists of them
    // never read the samples. Migration 5 keeps, per rollout, the command ids its stored ticks
    // carried out (so a command is applied once), and per decision its command id and the warnings
    // Prometheus attached to its analysis.
    /// <summary>The schema, one entry per version; never edit a released entry, add one.</summary>
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            CREATE TABLE rollouts (
                rollout_key TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                phase TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                version BIGINT NOT NULL);
            CREATE TABLE analyses (
                id TEXT PRIMARY KEY,
                rollout_key TEXT NOT NULL,
                at BIGINT NOT NULL,
                verdict TEXT NOT NULL,
                score DOUBLE PRECISION,
                inconclusive BOOLEAN NOT NULL,
                result TEXT NOT NULL,
                queries TEXT NOT NULL);
            CREATE INDEX analyses_by_rollout ON analyses (rollout_key, at);
            CREATE TABLE decisions (
                id TEXT PRIMARY KEY,
                rollout_key TEXT NOT NULL,
                at BIGINT NOT NULL,
                phase TEXT NOT NULL,
                canary_weight INTEGER NOT NULL,
                verdict TEXT NOT NULL,
                reason TEXT NOT NULL,
                actions TEXT NOT NULL,
                analysis_id TEXT);
            CREATE INDEX decisions_by_rollout ON decisions (rollout_key, at);
            """),
        (2, """
            CREATE TABLE requested_analyses (
                id TEXT PRIMARY KEY,
                service TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                status TEXT NOT NULL,
                verdict TEXT,
                score DOUBLE PRECISION,
                request TEXT NOT NULL,
                result TEXT,
                error TEXT,
                requested_by TEXT NOT NULL);
            CREATE INDEX requested_analyses_by_time ON requested_analyses (created_at, id);
            CREATE INDEX requested_analyses_by_service ON requested_analyses (service, created_at);
            CREATE TABLE named_configs (
                name TEXT PRIMARY KEY,
                body TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                updated_by TEXT NOT NULL);
            """),
        (3, """
            ALTER TABLE decisions ADD COLUMN revision TEXT;
            ALTER TABLE decisions ADD COLUMN commands TEXT;
            ALTER TABLE decisions ADD COLUMN fault TEXT;
            CREATE INDEX decisions_by_time ON decisions (at);
            CREATE INDEX analyses_by_time ON analyses (at);
            CREATE TABLE reports (
                week TEXT PRIMARY KEY,
                created_at BIGINT NOT NULL,
                json TEXT NOT NULL,
                html TEXT NOT NULL);
            """),
        (4, """
            DELETE FROM decisions WHERE id IN (
                SELECT id FROM (
                    SELECT id, commands, analysis_id, phase, canary_weight, verdict, reason, COALESCE(revision, '') AS revision, COALESCE(fault, '') AS fault,
                        LAG(phase) OVER w AS previous_phase, LAG(canary_weight) OVER w AS previous_weight, LAG(verdict) OVER w AS previous_verdict,
                        LAG(reason) OVER w AS previous_reason, LAG(COALESCE(revision, '')) OVER w AS previous_revision, LAG(COALESCE(fault, '')) OVER w AS previous_fault
                    FROM decisions
                    WINDOW w AS (PARTITION BY rollout_key ORDER BY at, id)) AS ranked
                WHERE previous_phase IS NOT NULL AND commands IS NULL AND analysis_id IS NULL
                    AND phase = previous_phase AND canary_weight = previous_weight AND verdict = previous_verdict
                    AND reason = previous_reason AND revision = previous_revision AND fault = previous_fault);
            ALTER TABLE analyses ADD COLUMN summary TEXT
            """),
        (5, """
            ALTER TABLE rollouts ADD COLUMN applied_commands TEXT;
            ALTER TABLE decisions ADD COLUMN command_id TEXT;
            ALTER TABLE decisions ADD COLUMN warnings TEXT
            """),
    ];


    /// <summary>The schema version this build writes.</summary>
    public static int Version => Migrations[^1].Version;

    /// <summary>Applies the migrations the database has not seen (the caller serializes replicas).</summary>
    /// <exception cref="StoreException">The database was migrated by a newer canary.</exception>
    public static async Task MigrateAsync(DbConnection connection, string store, DateTimeOffset now, CancellationToken cancellationToken, int upTo = int.MaxValue)
    {
        await Sql.ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)", cancellationToken);
        foreach (var (version, sql) in Migrations.Where(m => m.Version <= upTo))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var check = Sql.Command(connection, transaction, "SELECT COUNT(*) FROM schema_migrations WHERE version = @v", ("v", version)))
            {
                if (Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) > 0)
                {
                    continue;
                }
            }

            foreach (var statement in sql.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                await Sql.ExecuteAsync(connection, transaction, statement, cancellationToken);
            }

            await using (var record = Sql.Command(connection, transaction, "INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @at)", ("v", version), ("at", now.ToUnixTimeMilliseconds())))
            {
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        // A database migrated by a newer canary is not downgraded silently.
        await using var newest = Sql.Command(connection, null, "SELECT MAX(version) FROM schema_migrations");
        var applied = Convert.ToInt64(await newest.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        if (applied > Version)
        {
            throw new StoreException(store, $"its schema is at version {applied}, newer than this canary knows ({Version}); upgrade canary");
        }
    }
}
