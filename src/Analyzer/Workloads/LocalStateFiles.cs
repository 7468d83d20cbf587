using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Canary.Analyzer.Documents;

namespace Canary.Analyzer.Workloads;

/// <summary>What should run for a local target: the primary's spec, and the canary's during a release (the Deployments' spec).</summary>
internal sealed record DesiredProcesses(ProcessSpec? Primary, ProcessSpec? Canary)
{
    public static DesiredProcesses None { get; } = new(null, null);
}

/// <summary>The part a process plays for its target; Retiring ones are being stopped.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProcessRole>))]
internal enum ProcessRole
{
    Primary,
    NextPrimary,
    Canary,
    Retiring,
}

/// <summary>A process that runs for a target (its pod), as recorded so that the next canary takes it over instead of starting another.</summary>
internal sealed record RecordedProcess(ProcessRole Role, string Pod, int Port, ProcessIdentity Identity, ProcessSpec Spec, DateTimeOffset DeadlineFrom, bool EverReady);

/// <summary>
/// The state folder of local workloads: per target NAMESPACE.NAME.json (what should run) and
/// NAMESPACE.NAME.processes.json (what runs, with pid and start time), written whole through a
/// temporary file and a rename, so a crash leaves the old file or the new one; logs/POD.log holds each
/// process's output.
/// </summary>
internal sealed class LocalStateFiles
{
    private const string ProcessesSuffix = ".processes.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public LocalStateFiles(string folder)
    {
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    /// <summary>
    /// Holds the folder for this canary alone (an exclusive lock on .lock, released when disposed or
    /// when the process dies), so two canaries never manage the same processes.
    /// </summary>
    /// <exception cref="InputException">Another canary holds the folder.</exception>
    public IDisposable Lock()
    {
        try
        {
            return new FileStream(Path.Combine(Folder, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InputException($"--state: {Folder} is in use by another canary local ({e.Message})");
        }
    }

    public string LogPath(string pod) => Path.Combine(Folder, "logs", $"{pod}.log");

    /// <exception cref="WorkloadNotReadyException">The file exists but cannot be read.</exception>
    public DesiredProcesses ReadDesired(string ns, string name)
    {
        var desired = Read<DesiredProcesses>(DesiredPath(ns, name)) ?? DesiredProcesses.None;
        if (new[] { desired.Primary, desired.Canary }.Any(Incomplete))
        {
            throw Unreadable(DesiredPath(ns, name), "a spec lacks its command, environment or probe");
        }

        return desired;
    }

    public void WriteDesired(string ns, string name, DesiredProcesses desired) => Write(DesiredPath(ns, name), Serialize(desired));

    /// <exception cref="WorkloadNotReadyException">The file exists but cannot be read.</exception>
    public IReadOnlyList<RecordedProcess> ReadProcesses(string ns, string name) => ReadProcesses(ProcessesPath(ns, name));

    /// <summary>Writes the record when its text differs from last, and returns the text written (or last).</summary>
    public string WriteProcesses(string ns, string name, IEnumerable<RecordedProcess> processes, string? last)
    {
        var text = Serialize(processes.ToList());
        if (text != last)
        {
            Write(ProcessesPath(ns, name), text);
        }

        return text;
    }

    /// <summary>Every processes record in the folder, with its path (for stopping them all).</summary>
    public IReadOnlyList<string> AllProcessRecords() => [.. Directory.EnumerateFiles(Folder, "*" + ProcessesSuffix).Order(StringComparer.Ordinal)];

    /// <exception cref="WorkloadNotReadyException">The file cannot be read.</exception>
    public static IReadOnlyList<RecordedProcess> ReadProcessRecord(string path) => ReadProcesses(path);

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Json);

    private static List<RecordedProcess> ReadProcesses(string path)
    {
        var processes = Read<List<RecordedProcess>>(path) ?? [];
        if (processes.Any(p => p is null || p.Identity is null || p.Pod is null || p.Spec is null || Incomplete(p.Spec)))
        {
            throw Unreadable(path, "a process lacks its pod, identity or spec");
        }

        return processes;
    }

    private static bool Incomplete(ProcessSpec? spec) => spec is not null && (spec.Command is not { Count: > 0 } || spec.Probe is null || spec.Environment is null);

    private static T? Read<T>(string path)
        where T : class
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, e.Message);
        }
    }

    private static WorkloadNotReadyException Unreadable(string path, string reason) => new(path.EndsWith(ProcessesSuffix, StringComparison.Ordinal)
        ? $"{path} cannot be read ({reason}); stop the processes it lists (their pods are in targets/) and delete it"
        : $"{path} cannot be read ({reason}); delete it to start the target again from its process file");

    /// <summary>Writes the whole file through a temporary one and a rename: a crash leaves the old text or the new.</summary>
    internal static void Write(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    private string DesiredPath(string ns, string name) => Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"{ns}.{name}.json"));

    private string ProcessesPath(string ns, string name) => Path.Combine(Folder, string.Create(CultureInfo.InvariantCulture, $"{ns}.{name}{ProcessesSuffix}"));
}

/// <summary>Prometheus file_sd: per target targets/NAMESPACE.NAME.json lists its processes with the labels namespace and pod; written only when it changes.</summary>
internal sealed class FileSdTargets
{
    private readonly Dictionary<string, string> written = new(StringComparer.Ordinal);
    private readonly Lock writing = new();

    public FileSdTargets(string folder)
    {
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public void Write(string ns, string name, IEnumerable<(int Port, string Pod)> processes)
    {
        var groups = processes
            .Select(p => new { targets = new[] { $"127.0.0.1:{p.Port.ToString(CultureInfo.InvariantCulture)}" }, labels = new Dictionary<string, string> { ["namespace"] = ns, ["pod"] = p.Pod } })
            .ToList();
        var text = LocalStateFiles.Serialize(groups);
        var path = Path.Combine(Folder, $"{ns}.{name}.json");
        lock (writing)
        {
            if (written.TryGetValue(path, out var last) && last == text)
            {
                return;
            }

            LocalStateFiles.Write(path, text);
            written[path] = text;
        }
    }
}
