using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Canary.Analyzer.Api;

/// <summary>One field of a request and what is wrong with it.</summary>
public sealed record FieldProblem(string Field, string Reason, int? Line = null);

/// <summary>RFC 7807 problem+json answers, with an "errors" list naming each field and its reason.</summary>
public static partial class Problems
{
    public static IResult Of(int status, string title, string detail, IReadOnlyList<FieldProblem>? errors = null)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail, Type = $"https://httpstatuses.io/{status}" };
        if (errors is { Count: > 0 })
        {
            problem.Extensions["errors"] = errors;
        }

        return Results.Problem(problem);
    }

    /// <summary>A 400 for one field.</summary>
    public static IResult Field(string field, string reason) => Of(StatusCodes.Status400BadRequest, "Bad request", $"{field}: {reason}", [new FieldProblem(field, reason)]);

    /// <summary>A 400 from the readers' problems ("source:line path: reason"), each split into its field, line and reason.</summary>
    public static IResult Invalid(IReadOnlyList<string> problems, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(problems);
        var errors = problems.Select(p => Parse(p, prefix)).ToList();
        return Of(StatusCodes.Status400BadRequest, "Bad request", string.Join("; ", errors.Select(e => $"{e.Field}: {e.Reason}")), errors);
    }

    /// <summary>The request body, at most the limit; null with a 413 (or 400) problem when it cannot be read.</summary>
    public static async Task<(byte[]? Body, IResult? Problem)> ReadBodyAsync(HttpContext context, long limit)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return (null, TooLarge(limit));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e)
        {
            return (null, e.StatusCode == StatusCodes.Status413PayloadTooLarge ? TooLarge(limit) : Of(e.StatusCode, "Bad request", e.Message));
        }

        return buffer.Length == 0 ? (null, Field("body", "is empty: send a JSON document")) : (buffer.ToArray(), null);
    }

    private static IResult TooLarge(long limit) =>
        Of(StatusCodes.Status413PayloadTooLarge, "Payload too large", $"the body is larger than {limit} bytes (Api:MaxBodyBytes)", [new FieldProblem("body", $"larger than {limit} bytes")]);

    private static FieldProblem Parse(string problem, string prefix)
    {
        var match = ProblemText().Match(problem);
        if (!match.Success)
        {
            return new FieldProblem(prefix.Length > 0 ? prefix : "body", problem);
        }

        var path = match.Groups["path"].Value;
        var field = path is "document" ? (prefix.Length > 0 ? prefix : "body") : prefix.Length > 0 ? $"{prefix}.{path}" : path;
        return new FieldProblem(field, match.Groups["reason"].Value, match.Groups["line"].Success ? int.Parse(match.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    // "source:12 path: reason", "source: path: reason" or "source:12: reason" (a syntax error).
    [GeneratedRegex(@"^[^:]*:(?<line>\d+)?:? ?(?:(?<path>[^ :][^:]*?): )?(?<reason>.*)$", RegexOptions.Singleline)]
    private static partial Regex ProblemText();
}
