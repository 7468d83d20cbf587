using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Canary.Analyzer.Traffic;

/// <summary>
/// HAProxy, driven through its runtime API (the stats socket at level admin, over a unix socket or
/// TCP): `set server BACKEND/SERVER weight N` moves traffic between the primary's and the canary's
/// server of one backend, and `show servers state BACKEND` reads the weights back. HAProxy is never
/// reloaded, so shifting weight drops no connection. Weights are percentages (HAProxy takes 0–256).
/// </summary>
internal sealed class HaproxyRouter(TimeProvider time) : ITrafficRouter
{
    private readonly ConcurrentDictionary<string, (int Primary, int Canary)> found = new(StringComparer.Ordinal);

    public string Name => RouterNames.Haproxy;

    /// <summary>
    /// Local processes are named like pods, NAME-primary-REVISION-PORT and NAME-REVISION-PORT; the
    /// canary cohort is the revision under release only, since releases can follow each other within
    /// seconds here and the last samples of the previous canary must not count for this one.
    /// </summary>
    public CohortLabels DefaultCohorts(string target, string revision) =>
        new("pod", $"{PodCohorts.Escape(target)}-primary-.*", $"{PodCohorts.Escape(target)}-{PodCohorts.Escape(revision)}-[0-9]+", Regex: true);

    /// <summary>Checks that the backend and both servers exist and remembers their weights, for finalizing.</summary>
    public async Task ReconcileAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var weights = await WeightsAsync(target, cancellationToken);
        found.TryAdd(Key(target), weights);
    }

    public async Task SetRoutingAsync(RouterTarget target, Routing routing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(routing);
        routing.Validated();
        if (routing.Match is not null || routing.Mirror)
        {
            throw new RoutingException("the haproxy router splits traffic by weight only; A/B matches and mirroring need istio");
        }

        var current = await WeightsAsync(target, cancellationToken);
        if (current == (routing.PrimaryWeight, routing.CanaryWeight))
        {
            return;
        }

        var backend = Backend(target);
        await SendAsync(target, string.Create(CultureInfo.InvariantCulture,
            $"set server {backend}/{target.PrimaryServer} weight {routing.PrimaryWeight}; set server {backend}/{target.CanaryServer} weight {routing.CanaryWeight}"), cancellationToken);
    }

    public async Task<Routing> GetRoutingAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (primary, canary) = await WeightsAsync(target, cancellationToken);
        return new Routing(primary + canary == 0 ? 0 : (int)Math.Round(100.0 * canary / (primary + canary)));
    }

    /// <summary>Puts back the weights found at the first reconcile (all to the primary when none were recorded).</summary>
    public Task FinalizeAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (primary, canary) = found.TryRemove(Key(target), out var weights) ? weights : (100, 0);
        var backend = Backend(target);
        return SendAsync(target, string.Create(CultureInfo.InvariantCulture,
            $"set server {backend}/{target.PrimaryServer} weight {primary}; set server {backend}/{target.CanaryServer} weight {canary}"), cancellationToken);
    }

    /// <summary>
    /// Points a server of the backend at host:port (`set server B/S addr H port P`), without a reload:
    /// new connections go to the new address, requests in flight finish where they are. Local
    /// workloads use it to put a new process behind the primary's or the canary's slot.
    /// </summary>
    public Task SetServerAddressAsync(RouterTarget target, string server, string host, int port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return SendAsync(target, string.Create(CultureInfo.InvariantCulture, $"set server {Backend(target)}/{server} addr {host} port {port}"), cancellationToken);
    }

    /// <summary>Where each server of the backend points (srv_addr, srv_port of `show servers state`).</summary>
    public async Task<IReadOnlyDictionary<string, (string Address, int Port)>> ServerAddressesAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (header, rows) = await ServersAsync(target, cancellationToken);
        var (name, address, port) = (Column(header, "srv_name"), Column(header, "srv_addr"), Column(header, "srv_port"));
        return rows.Where(f => f.Length > Math.Max(address, port))
            .ToDictionary(f => f[name], f => (f[address], int.TryParse(f[port], CultureInfo.InvariantCulture, out var p) ? p : 0), StringComparer.Ordinal);
    }

    /// <summary>The user weights of both servers, from `show servers state BACKEND`.</summary>
    private async Task<(int Primary, int Canary)> WeightsAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        var (header, rows) = await ServersAsync(target, cancellationToken);
        var (nameColumn, weightColumn) = (Column(header, "srv_name"), Column(header, "srv_uweight"));
        int Weight(string server) => rows.FirstOrDefault(f => f.Length > weightColumn && f[nameColumn] == server) is { } fields
            ? int.Parse(fields[weightColumn], CultureInfo.InvariantCulture)
            : throw new RoutingException($"HAProxy backend {Backend(target)} has no server {server}");
        return (Weight(target.PrimaryServer), Weight(target.CanaryServer));
    }

    /// <summary>`show servers state BACKEND`: the column names and one row of fields per server.</summary>
    private async Task<(string[] Header, List<string[]> Rows)> ServersAsync(RouterTarget target, CancellationToken cancellationToken)
    {
        var backend = Backend(target);
        var answer = await SendAsync(target, $"show servers state {backend}", cancellationToken);
        var lines = answer.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines.FirstOrDefault(l => l.StartsWith("# be_id", StringComparison.Ordinal))?.TrimStart('#', ' ').Split(' ')
            ?? throw new RoutingException($"HAProxy's runtime API did not list backend {backend}: {First(answer)}");
        return (header, [.. lines.Where(l => !l.StartsWith('#')).Select(l => l.Split(' '))]);
    }

    /// <summary>Sends commands to the runtime API and returns its answer; an answer that is an error becomes a <see cref="RoutingException"/>.</summary>
    private async Task<string> SendAsync(RouterTarget target, string commands, CancellationToken cancellationToken)
    {
        var address = target.RuntimeApi ?? throw new RoutingException("the haproxy router needs the runtime API's address (a unix socket path or host:port)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        Socket socket;
        EndPoint endpoint;
        if (address.Contains('/', StringComparison.Ordinal))
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            endpoint = new UnixDomainSocketEndPoint(address);
        }
        else
        {
            var colon = address.LastIndexOf(':');
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            endpoint = new DnsEndPoint(address[..colon], int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture));
        }

        using (socket)
        {
            try
            {
                await socket.ConnectAsync(endpoint, linked.Token);
                await socket.SendAsync(Encoding.ASCII.GetBytes(commands + "\n"), SocketFlags.None, linked.Token);
                var answer = new StringBuilder();
                var buffer = new byte[8192];
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, linked.Token)) > 0)
                {
                    answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                var text = answer.ToString();
                var error = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l =>
                    l.StartsWith("No such", StringComparison.Ordinal) || l.StartsWith("Permission denied", StringComparison.Ordinal)
                    || l.StartsWith("Unknown command", StringComparison.Ordinal) || l.Contains("requires", StringComparison.Ordinal) || l.StartsWith("Invalid", StringComparison.Ordinal));
                return error is null ? text : throw new RoutingException($"HAProxy's runtime API at {address} refused \"{commands}\": {error}");
            }
            catch (SocketException e)
            {
                throw new RoutingException($"cannot reach HAProxy's runtime API at {address}: {e.Message}");
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new RoutingException($"HAProxy's runtime API at {address} did not answer within 10 s");
            }
        }
    }

    private static int Column(string[] header, string name) =>
        Array.IndexOf(header, name) is var i and >= 0 ? i : throw new RoutingException($"HAProxy's server state has no {name} column");

    private static string Backend(RouterTarget target) => target.Backend ?? target.Name;

    private static string Key(RouterTarget target) => $"{target.RuntimeApi}|{Backend(target)}";

    private static string First(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "(no answer)";
}
