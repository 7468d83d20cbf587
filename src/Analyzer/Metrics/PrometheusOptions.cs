namespace Canary.Analyzer.Metrics;

/// <summary>
/// How to reach Prometheus: the "Prometheus" section of appsettings.json, overridden by
/// CANARY__Prometheus__Key environment variables and by command-line flags. Secrets are best given
/// as files (BearerTokenFile, PasswordFile), which are read at each request so rotation needs no restart.
/// </summary>
internal sealed class PrometheusOptions
{
    /// <summary>Base URL, e.g. http://prometheus:9090 or https://host/prometheus (a path prefix is kept).</summary>
    public Uri? Url { get; set; }

    /// <summary>Time allowed for one HTTP attempt; also sent to Prometheus as the query's timeout.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts after the first for connection errors, timeouts and 5xx answers; 4xx answers are never retried.</summary>
    public int Retries { get; set; } = 3;

    /// <summary>Delay before the first retry; each later retry waits twice as long (±20 % jitter).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Queries of one analysis in flight at once (both cohorts, all metrics).</summary>
    public int Concurrency { get; set; } = 8;

    public string? BearerToken { get; set; }

    public string? BearerTokenFile { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    public string? PasswordFile { get; set; }

    /// <summary>Extra request headers, e.g. X-Scope-OrgID for a multi-tenant Prometheus-compatible store.</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A PEM file of CA certificates to trust for https, in addition to the system's.</summary>
    public string? CaFile { get; set; }

    /// <summary>The certificates of a PEM file of CA certificates; a file without any is an error.</summary>
    /// <exception cref="InvalidDataException">The file holds no certificate.</exception>
    public static System.Security.Cryptography.X509Certificates.X509Certificate2Collection LoadAuthorities(string file)
    {
        var authorities = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        authorities.ImportFromPemFile(file);
        return authorities.Count > 0 ? authorities : throw new InvalidDataException("holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }

    /// <summary>Every problem of the settings, each naming its setting; empty when usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Url is null)
        {
            problems.Add("--prometheus: is required: the URL of Prometheus, e.g. http://localhost:9090 (or set CANARY__Prometheus__Url)");
        }
        else if (!Url.IsAbsoluteUri || Url.Scheme is not ("http" or "https"))
        {
            problems.Add($"--prometheus: \"{Url}\" is not an http or https URL");
        }
        else if (Url.UserInfo.Length > 0)
        {
            // Messages name the URL; credentials in it would be printed with them.
            problems.Add("--prometheus: the URL holds credentials; give them with --username and --password-file (or a bearer token file) instead");
        }

        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromHours(1))
        {
            problems.Add($"--timeout: must be above 0 and at most 1h, got {Timeout}");
        }

        if (RetryDelay < TimeSpan.Zero || RetryDelay > TimeSpan.FromMinutes(1))
        {
            problems.Add($"Prometheus.RetryDelay: must be between 0 and 1 minute, got {RetryDelay}");
        }

        if (Retries is < 0 or > 10)
        {
            problems.Add($"Prometheus.Retries: must be between 0 and 10, got {Retries}");
        }

        if (Concurrency is < 1 or > 256)
        {
            problems.Add($"--concurrency: must be between 1 and 256, got {Concurrency}");
        }

        var bearer = BearerToken is not null || BearerTokenFile is not null;
        var basic = Username is not null || Password is not null || PasswordFile is not null;
        if (bearer && basic)
        {
            problems.Add("Prometheus: give either a bearer token or basic auth (Username and Password), not both");
        }

        if (basic && Username is null)
        {
            problems.Add("Prometheus.Username: is required with a password");
        }

        foreach (var (setting, file) in new[] { ("--bearer-token-file", BearerTokenFile), ("--password-file", PasswordFile), ("--ca-file", CaFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                problems.Add($"{setting}: {file}: no such file");
            }
        }

        if (CaFile is not null && File.Exists(CaFile))
        {
            try
            {
                LoadAuthorities(CaFile);
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                problems.Add($"--ca-file: {CaFile}: {e.Message}");
            }
        }

        foreach (var (name, value) in Headers)
        {
            if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c, StringComparison.Ordinal)))
            {
                problems.Add($"--header: \"{name}\" is not a header name");
            }
            else if (value.Any(c => c is '\r' or '\n' or '\0'))
            {
                problems.Add($"--header: the value of {name} holds a line break");
            }
        }

        if (Headers.Keys.Any(h => h.Equals("Authorization", StringComparison.OrdinalIgnoreCase)) && (bearer || basic))
        {
            problems.Add("--header: Authorization is set by the bearer token or basic auth settings; give one of them");
        }

        return problems;
    }
}
