using System.Net;
using k8s.Autorest;

namespace Canary.Analyzer.Kubernetes;

/// <summary>A write to the Kubernetes API that failed: the object, what was tried, and the API server's answer.</summary>
internal sealed class KubernetesWriteException : Documents.ExternalFaultException
{
    public KubernetesWriteException(string message, HttpStatusCode? status = null, Exception? inner = null)
        : base(message, inner) => Status = status;

    public KubernetesWriteException()
        : this("a write to the Kubernetes API failed")
    {
    }

    public KubernetesWriteException(string message)
        : this(message, null, null)
    {
    }

    public KubernetesWriteException(string message, Exception innerException)
        : this(message, null, innerException)
    {
    }

    public HttpStatusCode? Status { get; }
}

/// <summary>
/// Read-modify-write against the API server: read the object, change it, replace it with the
/// resourceVersion that was read; a 409 Conflict (someone wrote in between) reads again and retries,
/// a bounded number of times. Every other error is reported at once with the object's name.
/// </summary>
internal static class KubernetesWrites
{
    /// <summary>Attempts before a run of conflicts is given up on.</summary>
    public const int MaxAttempts = 5;

    public static bool IsConflict(Exception e) => e is KubernetesWriteException { Status: HttpStatusCode.Conflict };

    /// <summary>
    /// Reads with read, lets change edit the copy (returning false when there is nothing to write),
    /// and writes with replace; retried on 409. Returns what was written (or read, when unchanged).
    /// </summary>
    public static async Task<T> UpdateAsync<T>(string what, Func<Task<T>> read, Func<T, bool> change, Func<T, Task<T>> replace, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(replace);
        for (var attempt = 1; ; attempt++)
        {
            var current = await Call($"read {what}", read);
            if (!change(current))
            {
                return current;
            }

            try
            {
                return await Call($"write {what}", () => replace(current));
            }
            catch (KubernetesWriteException e) when (e.Status == HttpStatusCode.Conflict)
            {
                if (attempt >= MaxAttempts)
                {
                    throw new KubernetesWriteException($"gave up writing {what}: {MaxAttempts} attempts in a row met a newer version (409 Conflict); another client keeps changing it", HttpStatusCode.Conflict, e);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt * attempt), time, cancellationToken);
            }
        }
    }

    /// <summary>Runs one API call; any failure becomes a <see cref="KubernetesWriteException"/> naming what was done (Status says the HTTP status, if any).</summary>
    public static async Task<T> Call<T>(string what, Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            return await call();
        }
        catch (HttpOperationException e)
        {
            throw Failed(what, e);
        }
        catch (HttpRequestException e)
        {
            throw new KubernetesWriteException($"{what}: cannot reach the Kubernetes API: {e.Message}", null, e);
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            throw new KubernetesWriteException($"{what}: the Kubernetes API did not answer in time", null, e);
        }
    }

    /// <summary>The object, or null when the API server says 404.</summary>
    public static async Task<T?> ReadOrNullAsync<T>(string what, Func<Task<T>> read)
        where T : class
    {
        try
        {
            return await Call(what, read);
        }
        catch (KubernetesWriteException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Deletes; an object that is already gone is fine.</summary>
    public static async Task DeleteAsync<T>(string what, Func<Task<T>> delete)
    {
        try
        {
            await Call(what, delete);
        }
        catch (KubernetesWriteException e) when (e.Status == HttpStatusCode.NotFound)
        {
        }
    }

    private static KubernetesWriteException Failed(string what, HttpOperationException e)
    {
        var message = ApiMessage(e.Response?.Content) ?? e.Message;
        return new KubernetesWriteException($"{what}: the Kubernetes API answered {(int?)e.Response?.StatusCode} {e.Response?.StatusCode}: {message}", e.Response?.StatusCode, e);
    }
    /// <summary>The message of a Status body, as kubectl shows it.</summary>
    private static string? ApiMessage(string? content)
    {
        if (string.IsNullOrEmpty(content))
        {
            return null;
        }

        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(content);
            return document.RootElement.TryGetProperty("message", out var message) ? message.GetString() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
