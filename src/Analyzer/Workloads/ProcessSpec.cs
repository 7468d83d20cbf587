using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Canary.Analyzer.Documents;

namespace Canary.Analyzer.Workloads;

/// <summary>
/// A readiness probe as Kubernetes defines one (httpGet path, initial delay, period, timeout,
/// failure threshold): the process is ready after one answer below 400, and no longer ready after
/// failureThreshold probes in a row fail.
/// </summary>
internal sealed record ReadinessProbe
{
    public string Path { get; init; } = "/healthz";

    public TimeSpan InitialDelay { get; init; }

    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);

    public int FailureThreshold { get; init; } = 3;
}

/// <summary>
/// What runs one version of a local target: the local counterpart of a Deployment's pod template.
/// "{port}" in the command and the environment becomes the port canary chose for the process (also
/// given as PORT). A change to any field is a new revision.
/// </summary>
internal sealed record ProcessSpec(IReadOnlyList<string> Command, IReadOnlyDictionary<string, string> Environment, string? WorkingDirectory, ReadinessProbe Probe)
{
    /// <summary>The first ten hex digits of SHA-256 over the spec (the revision, as a Deployment's template hash).</summary>
    public string Revision
    {
        get
        {
            var canonical = JsonSerializer.Serialize(new
            {
                command = Command,
                env = Environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new[] { e.Key, e.Value }),
                dir = WorkingDirectory,
                probe = new[] { Probe.Path, Probe.InitialDelay.ToString("c", CultureInfo.InvariantCulture), Probe.Period.ToString("c", CultureInfo.InvariantCulture), Probe.Timeout.ToString("c", CultureInfo.InvariantCulture), Probe.FailureThreshold.ToString(CultureInfo.InvariantCulture) },
            });
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..10];
        }
    }

    /// <summary>The command with "{port}" filled in.</summary>
    public IEnumerable<string> Arguments(int port) => Command.Select(word => Fill(word, port));

    public static string Fill(string text, int port)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }
}

/// <summary>
/// Reads a process file (YAML or JSON):
/// <code>
/// command: [canary, sample-service, --port, "{port}", --version, v2]
/// env: {GREETING: hello}
/// workingDir: .
/// readinessProbe: {path: /healthz, initialDelay: 0s, period: 1s, timeout: 1s, failureThreshold: 3}
/// </code>
/// Relative paths (workingDir, and a command word with a '/') are taken from the file's folder.
/// </summary>
internal static class ProcessSpecReader
{
    /// <exception cref="Documents.InputException">The file cannot be read, or a field is wrong (named with its line).</exception>
    public static ProcessSpec ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new Documents.InputException($"{path}: cannot be read: {e.Message}");
        }

        var (spec, problems) = Read(path, text, Path.GetDirectoryName(Path.GetFullPath(path))!);
        return spec ?? throw new Documents.InputException(problems);
    }

    public static (ProcessSpec? Spec, IReadOnlyList<string> Problems) Read(string source, string text, string folder) =>
        DocumentFields.ReadDocument(source, text, (root, fields, _) => Read(root, fields, folder));

    private static ProcessSpec? Read(DocumentNode root, DocumentFields fields, string folder)
    {
        if (!fields.Object(root, string.Empty, "command", "env", "workingDir", "readinessProbe"))
        {
            return null;
        }

        List<string> command = [];
        if (fields.Get(root, string.Empty, "command") is not { } list)
        {
            fields.Problem("command", "is required: the program and its arguments, e.g. [canary, sample-service, --port, \"{port}\"]", root.Line);
        }
        else if (list.Kind != NodeKind.Sequence || list.Items.Count == 0 || list.Items.Any(i => i.Kind is not (NodeKind.String or NodeKind.Number)))
        {
            fields.Problem(list, "command", $"must be a non-empty list of words (the program, then its arguments), got {list.Describe()}");
        }
        else
        {
            command = [.. list.Items.Select(i => i.Text)];
            if (command[0].Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(command[0]))
            {
                command[0] = Path.GetFullPath(Path.Combine(folder, command[0]));
            }
        }

        var env = fields.StringMap(root, string.Empty, "env");
        var dir = fields.String(root, string.Empty, "workingDir", string.Empty);
        var probe = new ReadinessProbe();
        if (fields.Get(root, string.Empty, "readinessProbe") is { } node && fields.Object(node, "readinessProbe", "path", "initialDelay", "period", "timeout", "failureThreshold"))
        {
            const string At = "readinessProbe";
            var path = fields.String(node, At, "path", probe.Path);
            if (!path.StartsWith('/'))
            {
                fields.Problem(node["path"]!, $"{At}.path", $"\"{DocumentNode.Shorten(path)}\" must start with /");
            }

            probe = new ReadinessProbe
            {
                Path = path,
                InitialDelay = FieldReaders.Duration(node, At, "initialDelay", TimeSpan.Zero, fields, allowZero: true),
                Period = FieldReaders.Duration(node, At, "period", probe.Period, fields),
                Timeout = FieldReaders.Duration(node, At, "timeout", probe.Timeout, fields),
                FailureThreshold = FieldReaders.Integer(node, At, "failureThreshold", probe.FailureThreshold, 1, 100, fields),
            };
        }

        return new ProcessSpec(command, env, dir.Length == 0 ? folder : Path.GetFullPath(Path.Combine(folder, dir)), probe);
    }
}
