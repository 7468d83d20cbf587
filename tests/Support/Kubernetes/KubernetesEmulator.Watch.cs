using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Canary.Testing.Kubernetes;

/// <summary>watch=true: events as newline-delimited JSON, with bookmarks when asked for.</summary>
public sealed partial class KubernetesEmulator
{
    private async Task WatchAsync(HttpContext context, ResourceType type, string? ns, LabelSelector selector, string? nameField)
    {
        var query = context.Request.Query;
        var from = query["resourceVersion"].ToString();
        var bookmarks = query["allowWatchBookmarks"] == "true";
        var timeout = int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        var watcher = store.Watch(type, ns, selector, nameField, from.Length == 0 ? null : long.TryParse(from, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new ApiStatusException(400, "BadRequest", $"resourceVersion \"{from}\" is not a number"));
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stop.Token);
        ended.CancelAfter(timeout);
        try
        {
            await context.Response.Body.FlushAsync(ended.Token);
            while (!ended.IsCancellationRequested)
            {
                using var tick = CancellationTokenSource.CreateLinkedTokenSource(ended.Token);
                tick.CancelAfter(TimeSpan.FromMilliseconds(bookmarks ? 200 : 60_000));
                JsonObject next;
                try
                {
                    next = await watcher.Events.Reader.ReadAsync(tick.Token);
                }
                catch (OperationCanceledException) when (!ended.IsCancellationRequested)
                {
                    if (!bookmarks)
                    {
                        continue;
                    }

                    next = new JsonObject
                    {
                        ["type"] = "BOOKMARK",
                        ["object"] = new JsonObject
                        {
                            ["kind"] = type.Kind,
                            ["apiVersion"] = type.GroupVersion,
                            // Only as far as this stream has delivered: a later version could skip an event still queued.
                            ["metadata"] = new JsonObject { ["resourceVersion"] = watcher.LastVersion.ToString(CultureInfo.InvariantCulture) },
                        },
                    };
                }

                await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(next.ToJsonString(Compact) + "\n"), ended.Token);
                await context.Response.Body.FlushAsync(ended.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            store.Unwatch(watcher);
        }
    }
}
