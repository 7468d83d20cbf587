using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Canary.Analyzer.Api;

/// <summary>The role an endpoint needs, as metadata: the filter checks it, the OpenAPI document states it.</summary>
internal sealed record RequiredRole(ApiRole Role, bool Read);

/// <summary>
/// Who may call what: each endpoint declares its role once (<see cref="RequireRole"/>), which both
/// admits callers and documents the bearer requirement in /openapi/v1.json; one origin rule for the
/// dashboard's cookie forms (sign-in and sign-out).
/// </summary>
internal static class ApiSecurity
{
    public const string Scheme = "bearer";

    /// <summary>Admits callers with at least the role (anonymous readers too, for reads, when Api:AnonymousRead is on), and says so in the OpenAPI document.</summary>
    public static RouteHandlerBuilder RequireRole(this RouteHandlerBuilder endpoint, ApiRole role, bool read)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return endpoint.WithMetadata(new RequiredRole(role, read)).AddEndpointFilter(async (context, next) =>
        {
            var access = context.HttpContext.RequestServices.GetService(typeof(ApiAccess)) as ApiAccess
                ?? throw new InvalidOperationException("ApiAccess is not registered");
            return access.Check(context.HttpContext, role, read) is { } refused ? refused : await next(context);
        });
    }

    /// <summary>The bearer scheme in the document's components, and on each operation its requirement, role (x-canary-role) and body types.</summary>
    public static void Describe(OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = Scheme,
                Description = "An API token (Api:Tokens or Api:TokensFile) as Authorization: Bearer TOKEN. Roles: viewer < operator < admin; each operation names the least it needs in x-canary-role.",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<BodyTypes>().LastOrDefault() is { } body)
            {
                operation.RequestBody = new OpenApiRequestBody { Required = true, Content = body.Types.ToDictionary(t => t, _ => new OpenApiMediaType()) };
            }

            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<RequiredRole>().LastOrDefault() is not { } required)
            {
                return Task.CompletedTask;
            }

            var role = required.Role.ToString().ToLowerInvariant();
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, context.Document)] = [] }];
            operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
            operation.Extensions["x-canary-role"] = new JsonNodeExtension(JsonValue.Create(role));
            operation.Description = $"{operation.Description}{(string.IsNullOrEmpty(operation.Description) ? string.Empty : " ")}Needs the {role} role{(required.Read ? " (or none, when Api:AnonymousRead is on)" : string.Empty)}.";
            operation.Responses ??= [];
            operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No token, or one that is not known (problem+json)." });
            operation.Responses.TryAdd("403", new OpenApiResponse { Description = $"The token's role is below {role} (problem+json)." });
            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// Whether a cookie form (sign-in, sign-out) comes from this site's own page: its Origin, else its
    /// Referer, must be Api:PublicUrl's origin when set, else the request's own scheme and host. A
    /// request that carries neither is refused: browsers send one on every form post.
    /// </summary>
    public static bool SameOrigin(HttpContext context, ApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || origin == "null")
        {
            origin = context.Request.Headers.Referer.ToString();
        }

        if (origin.Length == 0 || !Uri.TryCreate(origin, UriKind.Absolute, out var from))
        {
            return false;
        }

        if (options.PublicUrl is { } site)
        {
            return string.Equals(from.Scheme, site.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(from.Authority, site.Authority, StringComparison.OrdinalIgnoreCase);
        }

        return string.Equals(from.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}
