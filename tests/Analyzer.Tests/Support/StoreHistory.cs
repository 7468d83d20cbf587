using Canary.Analyzer.Storage;

namespace Canary.Analyzer.Tests.Support;

/// <summary>A rollout's whole history, oldest first, read page by page as the API reads it.</summary>
internal static class StoreHistory
{
    public static Task<IReadOnlyList<DecisionRecord>> AllDecisionsAsync(this IAnalysisStore store, string key) =>
        AllAsync((page, token) => store.DecisionsAsync(key, page, token));

    public static Task<IReadOnlyList<AnalysisRecord>> AllAnalysesAsync(this IAnalysisStore store, string key) =>
        AllAsync((page, token) => store.AnalysesAsync(key, page, token));

    private static async Task<IReadOnlyList<T>> AllAsync<T>(Func<PageRequest, CancellationToken, Task<Page<T>>> read)
    {
        var rows = new List<T>();
        string? after = null;
        do
        {
            var page = await read(new PageRequest(PageRequest.MaxLimit, after), CancellationToken.None);
            rows.AddRange(page.Items);
            after = page.Next;
        }
        while (after is not null);

        rows.Reverse();
        return rows;
    }
}
