using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Canary.Analyzer.Api;

/// <summary>What a caller may do; each role includes the ones below it.</summary>
internal enum ApiRole
{
    /// <summary>Read everything, judge, run analyses.</summary>
    Viewer = 1,

    /// <summary>Also approve, abort, pause and resume rollouts.</summary>
    Operator = 2,

    /// <summary>Also manage the named canary configs.</summary>
    Admin = 3,
}

/// <summary>A token from configuration (Api:Tokens:N:Name, Role, and Token or File, a mounted secret read at every request).</summary>
internal sealed class ApiToken
{
    public string Name { get; set; } = string.Empty;

    public ApiRole Role { get; set; } = ApiRole.Viewer;

    public string? Token { get; set; }

    public string? File { get; set; }
}

/// <summary>The API's settings: section "Api" of appsettings.json, or CANARY__Api__*.</summary>
internal sealed class ApiOptions
{
    public List<ApiToken> Tokens { get; } = [];

    /// <summary>A mounted file of "NAME ROLE TOKEN" lines (blank lines and # comments skipped), read at every request, so rotation needs no restart.</summary>
    public string? TokensFile { get; set; }

    /// <summary>Read-only endpoints and pages without a token (judging and analyses still need one).</summary>
    public bool AnonymousRead { get; set; }

    /// <summary>The largest request body accepted (413 beyond).</summary>
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>The longest window an analysis request may cover.</summary>
    public TimeSpan MaxWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The most judgements one multi-interval analysis may make.</summary>
    public int MaxIntervals { get; set; } = 100;

    /// <summary>How many requested analyses judge at once; the others wait their turn (still 202).</summary>
    public int ConcurrentAnalyses { get; set; } = 4;

    /// <summary>How many accepted analyses may be unfinished in one process (429 beyond); an admin is never refused by it.</summary>
    public int MaxPendingAnalyses { get; set; } = 100;

    /// <summary>How many unfinished analyses one caller (one token) may have in one process (429 beyond), so no caller starves the others.</summary>
    public int MaxPendingAnalysesPerCaller { get; set; } = 10;

    /// <summary>The least role that may send inline PromQL (a metric's "query"); below it, analyses use templates and named configs.</summary>
    public ApiRole InlineQueriesRole { get; set; } = ApiRole.Operator;

    /// <summary>How many reads of rollout history (a rollout, its decisions and analyses, their pages) are answered at once; the others wait their turn, so many readers cannot exhaust memory.</summary>
    public int ConcurrentHistoryReads { get; set; } = 4;

    /// <summary>The dashboard's address as users reach it (https://canary.example.com): sign-in and sign-out forms must come from it. Unset: the request's own host.</summary>
    public Uri? PublicUrl { get; set; }
}

/// <summary>Who called: the token's name (never the token) and its role.</summary>
internal sealed record Caller(string Name, ApiRole Role);

/// <summary>
/// Bearer tokens: from the Authorization header, or from the dashboard's HttpOnly, SameSite=Strict
/// cookie (which a mutating request must back with the X-Canary-Request header, so another site
/// cannot post with it). Tokens are compared in constant time (hashes of equal length, every
/// configured token compared); failures are logged with the path and the reason, never the token.
/// </summary>
internal sealed partial class ApiAccess(ApiOptions options, ILogger<ApiAccess> log)
{
    public const string Cookie = "canary_token";
    public const string RequestHeader = "X-Canary-Request";

    public ApiOptions Options => options;

    /// <summary>The caller of the request, or null with the reason (no token, unknown token).</summary>
    public Caller? Identify(HttpContext context, out string reason)
    {
        ArgumentNullException.ThrowIfNull(context);
        string? token = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }
        else if (context.Request.Cookies.TryGetValue(Cookie, out var cookie)
            && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) || context.Request.Headers.ContainsKey(RequestHeader)))
        {
            token = cookie;
        }

        if (string.IsNullOrEmpty(token))
        {
            reason = header.Length > 0 ? "the Authorization header is not \"Bearer TOKEN\"" : "no bearer token";
            return null;
        }

        var found = Find(token);
        reason = found is null ? "the token is not known" : string.Empty;
        return found;
    }

    /// <summary>The caller a token belongs to, or null.</summary>
    public Caller? Find(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        Caller? found = null;
        foreach (var (name, role, secret) in Known())
        {
            // Every token is compared, matched or not, so the time taken says nothing about which.
            if (CryptographicOperations.FixedTimeEquals(given, SHA256.HashData(Encoding.UTF8.GetBytes(secret))) && found is null)
            {
                found = new Caller(name, role);
            }
        }

        return found;
    }

    /// <summary>Whether the request may go on: a problem (401 or 403, logged) when not.</summary>
    public IResult? Check(HttpContext context, ApiRole needed, bool read)
    {
        ArgumentNullException.ThrowIfNull(context);
        var caller = Identify(context, out var reason);
        if (caller is null)
        {
            if (read && options.AnonymousRead && reason == "no bearer token")
            {
                context.Items[nameof(Caller)] = new Caller("anonymous", ApiRole.Viewer);
                return null;
            }

            Refused(log, 401, context.Request.Method, context.Request.Path, "-", reason);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Problems.Of(StatusCodes.Status401Unauthorized, "Unauthorized", $"{reason}: send Authorization: Bearer TOKEN");
        }

        context.Items[nameof(Caller)] = caller;
        if (caller.Role < needed)
        {
            Refused(log, 403, context.Request.Method, context.Request.Path, caller.Name, $"role {caller.Role} is below {needed}");
            return Problems.Of(StatusCodes.Status403Forbidden, "Forbidden", $"this needs the {needed.ToString().ToLowerInvariant()} role; the token \"{caller.Name}\" has {caller.Role.ToString().ToLowerInvariant()}");
        }

        return null;
    }

    /// <summary>The caller Check admitted.</summary>
    public static Caller CallerOf(HttpContext context) => context?.Items[nameof(Caller)] as Caller ?? new Caller("anonymous", ApiRole.Viewer);

    private IEnumerable<(string Name, ApiRole Role, string Secret)> Known()
    {
        foreach (var token in options.Tokens)
        {
            var secret = token.Token;
            if (token.File is { } file)
            {
                secret = ReadSecret(file)?.Trim();
            }

            if (!string.IsNullOrEmpty(secret))
            {
                yield return (token.Name, token.Role, secret);
            }
        }

        if (options.TokensFile is { } path && ReadSecret(path) is { } text)
        {
            foreach (var line in text.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (!line.StartsWith('#') && fields.Length == 3 && Enum.TryParse<ApiRole>(fields[1], ignoreCase: true, out var role))
                {
                    yield return (fields[0], role, fields[2]);
                }
            }
        }
    }

    private string? ReadSecret(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SecretUnreadable(log, path, e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API: {Status} for {Method} {Path} (caller {Caller}): {Reason}")]
    private static partial void Refused(ILogger logger, int status, string method, string path, string caller, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "API: the token file {Path} cannot be read: {Error}")]
    private static partial void SecretUnreadable(ILogger logger, string path, string error);
}
