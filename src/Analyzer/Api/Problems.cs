using System.Text.RegularExpressions;
using Canary.Analyzer.Documents;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Canary.Analyzer.Api;

/// <summary>One field of a request and what is wrong with it; Line and Column say where in the body, when known.</summary>
internal sealed record FieldProblem(string Field, string Reason, int? Line = null, int? Column = null);

/// <summary>The media types an endpoint's body may have (metadata: the body reader checks them, the OpenAPI document lists them).</summary>
internal sealed record BodyTypes(IReadOnlyList<string> Types);

/// <summary>RFC 7807 problem+json answers, with an "errors" list naming each field and its reason.</summary>
internal static partial class Problems
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

    /// <summary>A 400 from a reader's problems, each with its field (under prefix: "body.metrics[0]"), line, column and reason.</summary>
    public static IResult Invalid(Documents.InputException input, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(input);
        var errors = input.Details is { } details
            ? details.Select(d => new FieldProblem(FieldOf(d.Path, prefix), d.Reason, d.Line > 0 ? d.Line : null, d.Column > 0 ? d.Column : null)).ToList()
            : input.Problems.Select(p => Parse(p, prefix)).ToList();
        return Of(StatusCodes.Status400BadRequest, "Bad request", string.Join("; ", errors.Select(e => $"{e.Field}: {e.Reason}")), errors);
    }

    /// <summary>A body that is not well-formed: the field being read, the line and the column.</summary>
    internal static FieldProblem Syntax(DocumentException error, string prefix = "") =>
        new(FieldOf(error.Path, prefix), error.Reason, error.Line > 0 ? error.Line : null, error.Column > 0 ? error.Column : null);

    private static string FieldOf(string path, string prefix) =>
        path is "$" or "document" or "" ? (prefix.Length > 0 ? prefix : "$") : prefix.Length > 0 ? $"{prefix}.{path}" : path;

    /// <summary>JSON bodies: application/json (and any +json type).</summary>
    public static readonly IReadOnlyList<string> JsonBody = ["application/json"];

    /// <summary>Config documents: JSON or YAML.</summary>
    public static readonly IReadOnlyList<string> DocumentBody = ["application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/plain"];

    /// <summary>Declares the body's media types: the reader refuses others with 415 (after authentication), the OpenAPI document lists them.</summary>
    public static RouteHandlerBuilder WithBody(this RouteHandlerBuilder endpoint, IReadOnlyList<string> types) =>
        endpoint.WithMetadata(new BodyTypes(types));

    /// <summary>The request body, at most the limit; null with a 415, 413 (or 400) problem when it cannot be taken.</summary>
    public static async Task<(byte[]? Body, IResult? Problem)> ReadBodyAsync(HttpContext context, long limit)
    {
        ArgumentNullException.ThrowIfNull(context);
        var accepted = context.GetEndpoint()?.Metadata.GetMetadata<BodyTypes>()?.Types ?? JsonBody;
        if (Unsupported(context.Request.ContentType, accepted) is { } unsupported)
        {
            return (null, unsupported);
        }

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

    /// <summary>A 415 naming what is accepted, when a Content-Type is given and is none of them (none given is taken as the first).</summary>
    private static IResult? Unsupported(string? contentType, IReadOnlyList<string> accepted)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var type = contentType.Split(';', 2)[0].Trim();
        var json = accepted.Contains("application/json") && type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        return json || accepted.Contains(type, StringComparer.OrdinalIgnoreCase)
            ? null
            : Of(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", $"the body is {DocumentNode.Shorten(type)}; send Content-Type: {string.Join(" or ", accepted)}",
                [new FieldProblem("Content-Type", $"\"{DocumentNode.Shorten(type)}\" is not one of {string.Join(", ", accepted)}")]);
    }

    private static IResult TooLarge(long limit) =>
        Of(StatusCodes.Status413PayloadTooLarge, "Payload too large", $"the body is larger than {limit} bytes (Api:MaxBodyBytes)", [new FieldProblem("body", $"larger than {limit} bytes")]);

    private static FieldProblem Parse(string problem, string prefix)
    {
        var match = ProblemText().Match(problem);
        if (!match.Success)
        {
            return new FieldProblem(prefix.Length > 0 ? prefix : "$", problem);
        }

        int? Number(string group) => match.Groups[group].Success ? int.Parse(match.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
        return new FieldProblem(FieldOf(match.Groups["path"].Success ? match.Groups["path"].Value : "$", prefix), match.Groups["reason"].Value, Number("line"), Number("column"));
    }

    // "source:12 path: reason", "source:12:5 path: reason", "source: path: reason" or "source:12:5: reason" (a syntax error of the document itself); paths have no spaces.
    [GeneratedRegex(@"^[^:]*:(?:(?<line>\d+)(?::(?<column>\d+))?)?:? ?(?:(?<path>[^\s:]+): )?(?<reason>.*)$", RegexOptions.Singleline)]
    private static partial Regex ProblemText();
}
