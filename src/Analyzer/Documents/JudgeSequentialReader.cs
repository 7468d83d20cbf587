using System.Globalization;
using Canary.Judge.Config;
using Canary.Judge.Sequential;

namespace Canary.Analyzer.Documents;

/// <summary>
/// Reads a sequential metric's data (DESIGN, "Sequential metrics"): per cohort {events, exposure}
/// or {le, buckets}, one entry per interval, oldest first. The Judge stays strict: whole numbers
/// of at least 0, events at most exposure, non-decreasing buckets, the same edges and intervals in
/// both cohorts, "+Inf" last; every problem names its field.
/// </summary>
internal static class JudgeSequentialReader
{
    // Counts beyond 2^53 are not exact as doubles, and their sums could overflow.
    private const long MaxCount = 1L << 53;

    private const string Shapes = "{\"events\": [...], \"exposure\": [...]} or {\"le\": [...], \"buckets\": [[...], ...]}";

    public static SequentialData? Read(DataEntry entry, MetricConfig metric, DocumentFields fields)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(fields);
        var (controlPath, experimentPath) = ($"{entry.Path}.control", $"{entry.Path}.experiment");
        if (entry.ControlObject is not { } control || entry.ExperimentObject is not { } experiment)
        {
            var path = entry.ControlObject is null ? controlPath : experimentPath;
            fields.Problem(path, $"\"{metric.Name}\" is a sequential metric: each cohort is {Shapes}", entry.Line);
            return null;
        }

        var histogram = control["le"] is not null || experiment["le"] is not null;
        if (histogram)
        {
            var (controlEdges, controlBuckets) = Histogram(control, controlPath, fields);
            var (experimentEdges, experimentBuckets) = Histogram(experiment, experimentPath, fields);
            if (controlEdges is null || experimentEdges is null || controlBuckets is null || experimentBuckets is null)
            {
                return null;
            }

            // Edges compared as numbers, as Prometheus's le may be written "0.1" or "0.10".
            if (!controlEdges.Select(Value).SequenceEqual(experimentEdges.Select(Value)))
            {
                fields.Problem(experiment, $"{experimentPath}.le", $"must be the control's edges ({string.Join(", ", controlEdges)}): both cohorts use the same buckets");
                return null;
            }

            if (!SameIntervals(controlBuckets.Count, experimentBuckets.Count, experiment, $"{experimentPath}.buckets", fields))
            {
                return null;
            }

            if (metric.Edge is { } edge && (!double.TryParse(edge, NumberStyles.Float, CultureInfo.InvariantCulture, out var wanted)
                || !controlEdges.Take(controlEdges.Count - 1).Select(Value).Contains(wanted)))
            {
                fields.Problem(control, $"{controlPath}.le", $"has no edge \"{edge}\", which the metric's edge names; its finite edges are {string.Join(", ", controlEdges.Take(controlEdges.Count - 1))}");
                return null;
            }

            return new HistogramData(controlEdges, [.. controlBuckets.Select((row, i) => new HistogramInterval(row, experimentBuckets[i]))]);
        }

        var controlCounts = Counts(control, controlPath, fields);
        var experimentCounts = Counts(experiment, experimentPath, fields);
        if (controlCounts is null || experimentCounts is null
            || !SameIntervals(controlCounts.Value.Events.Length, experimentCounts.Value.Events.Length, experiment, $"{experimentPath}.events", fields))
        {
            return null;
        }

        if (metric.Edge is not null)
        {
            fields.Problem(control, controlPath, "counts have no edges: the metric's edge is for histogram data");
            return null;
        }

        var (ce, cx) = controlCounts.Value;
        var (ee, ex) = experimentCounts.Value;
        return new CountData([.. ce.Select((_, i) => new CountInterval(ce[i], cx[i], ee[i], ex[i]))]);
    }

    private static double Value(string edge) => edge == "+Inf" ? double.PositiveInfinity : double.Parse(edge, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static bool SameIntervals(int control, int experiment, DocumentNode node, string path, DocumentFields fields)
    {
        if (control == experiment)
        {
            return true;
        }

        fields.Problem(node, path, $"has {experiment} interval(s), the control {control}: both cohorts give one entry per interval");
        return false;
    }

    private static (long[] Events, long[] Exposure)? Counts(DocumentNode side, string path, DocumentFields fields)
    {
        if (!fields.Object(side, path, "events", "exposure"))
        {
            return null;
        }

        var events = WholeNumbers(side["events"], $"{path}.events", side, fields);
        var exposure = WholeNumbers(side["exposure"], $"{path}.exposure", side, fields);
        if (events is null || exposure is null)
        {
            return null;
        }

        if (events.Length != exposure.Length)
        {
            fields.Problem(side, $"{path}.exposure", $"has {exposure.Length} entries and events {events.Length}: one of each per interval");
            return null;
        }

        for (var i = 0; i < events.Length; i++)
        {
            if (events[i] > exposure[i])
            {
                fields.Problem(side, $"{path}.events[{i}]", $"{events[i]} is more than the interval's exposure {exposure[i]}");
                return null;
            }
        }

        return (events, exposure);
    }

    private static (List<string>? Edges, List<long[]>? Buckets) Histogram(DocumentNode side, string path, DocumentFields fields)
    {
        if (!fields.Object(side, path, "le", "buckets"))
        {
            return (null, null);
        }

        var edges = Edges(side["le"], $"{path}.le", side, fields);
        if (side["buckets"] is not { Kind: NodeKind.Sequence } rows)
        {
            fields.Problem(side, $"{path}.buckets", $"is required: per interval the cumulative count at each le, e.g. [[900, 1100, 1138, 1140]]{(side["buckets"] is { } other ? $", got {other.Describe()}" : string.Empty)}");
            return (edges, null);
        }

        var buckets = new List<long[]>();
        for (var i = 0; i < rows.Items.Count; i++)
        {
            var rowPath = $"{path}.buckets[{i}]";
            if (WholeNumbers(rows.Items[i], rowPath, side, fields) is not { } row)
            {
                return (edges, null);
            }

            if (edges is not null && row.Length != edges.Count)
            {
                fields.Problem(rows.Items[i], rowPath, $"has {row.Length} counts for {edges.Count} edges: one per le");
                return (edges, null);
            }

            for (var k = 1; k < row.Length; k++)
            {
                if (row[k] < row[k - 1])
                {
                    fields.Problem(rows.Items[i], $"{rowPath}[{k}]", $"{row[k]} is below the count at the edge before ({row[k - 1]}): buckets are cumulative, so they never decrease");
                    return (edges, null);
                }
            }

            buckets.Add(row);
        }

        return (edges, buckets);
    }

    /// <summary>The le strings: numbers in ascending order as Prometheus writes them, "+Inf" last and required.</summary>
    private static List<string>? Edges(DocumentNode? node, string path, DocumentNode side, DocumentFields fields)
    {
        if (node is not { Kind: NodeKind.Sequence } array || array.Items.Count < 2)
        {
            fields.Problem(node ?? side, path, $"is required: the bucket edges as strings, at least one finite and \"+Inf\" last, e.g. [\"0.1\", \"0.25\", \"+Inf\"]{(node is null ? string.Empty : $", got {node.Describe()}")}");
            return null;
        }

        var edges = new List<string>();
        var previous = double.NegativeInfinity;
        for (var i = 0; i < array.Items.Count; i++)
        {
            var item = array.Items[i];
            var last = i == array.Items.Count - 1;
            if (item.Kind != NodeKind.String)
            {
                fields.Problem(item, $"{path}[{i}]", $"must be a string such as \"0.25\", got {item.Describe()}");
                return null;
            }

            if (last != (item.Text == "+Inf"))
            {
                fields.Problem(item, $"{path}[{i}]", last ? $"\"{item.Text}\": the last edge must be \"+Inf\" (the interval's total)" : "\"+Inf\" must be the last edge");
                return null;
            }

            if (!last)
            {
                if (!double.TryParse(item.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value <= previous)
                {
                    fields.Problem(item, $"{path}[{i}]", $"\"{item.Text}\" must be a finite number above the edge before it");
                    return null;
                }

                previous = value;
            }

            edges.Add(item.Text);
        }

        return edges;
    }

    private static long[]? WholeNumbers(DocumentNode? node, string path, DocumentNode side, DocumentFields fields)
    {
        if (node is not { Kind: NodeKind.Sequence } array)
        {
            fields.Problem(node ?? side, path, $"is required: an array of whole numbers of at least 0, one per interval{(node is null ? string.Empty : $", got {node.Describe()}")}");
            return null;
        }

        var values = new long[array.Items.Count];
        for (var i = 0; i < values.Length; i++)
        {
            var item = array.Items[i];
            if (item.Kind != NodeKind.Number || !long.TryParse(item.Text, NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] > MaxCount)
            {
                fields.Problem(item, $"{path}[{i}]", $"must be a whole number from 0 to 2^53, got {item.Describe()}");
                return null;
            }
        }

        return values;
    }
}
