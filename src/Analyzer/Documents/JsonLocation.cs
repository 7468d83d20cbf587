using System.Text;
using System.Text.Json;

namespace Canary.Analyzer.Documents;

/// <summary>
/// Where in a JSON text something went wrong, as a user reads it: the path of the field being read
/// ("config.metrics[2].name", "$" for the document itself) and the 1-based line and column. Found by
/// reading the text again up to the error, so the fast readers need not track paths as they go.
/// </summary>
internal static class JsonLocation
{
    /// <summary>The first byte that is not UTF-8 (RFC 8259 §8.1: JSON text is UTF-8), or -1.</summary>
    public static long FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        if (System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return -1;
        }

        var at = 0;
        while (at < utf8.Length)
        {
            if (Rune.DecodeFromUtf8(utf8[at..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return at;
            }

            at += consumed;
        }

        return -1;
    }

    /// <summary>The problem at a byte offset (a duplicate key, a byte that is not UTF-8).</summary>
    public static DocumentException At(ReadOnlySpan<byte> utf8, long offset, string reason)
    {
        var (line, column) = LineAndColumn(utf8, offset);
        return new DocumentException(line, reason, column, PathAt(utf8, offset, element: true));
    }

    /// <summary>A syntax error the reader raised, with the path of the field it was reading.</summary>
    public static DocumentException Syntax(ReadOnlySpan<byte> utf8, JsonException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var line = (int)(error.LineNumber ?? 0) + 1;
        var column = Column(utf8, line, (int)(error.BytePositionInLine ?? 0));
        return new DocumentException(line, $"malformed JSON: {FirstSentence(error.Message)}", column, PathAt(utf8, null, element: false));
    }

    /// <summary>
    /// The path of the value being read when the reader reaches offset (or, offset null, its first
    /// error): a key's value in an object; in an array the item (element) or the array itself.
    /// </summary>
    private static string PathAt(ReadOnlySpan<byte> utf8, long? offset, bool element)
    {
        // One frame per open container: its path, and the key (object) or the count of items (array) so far.
        var frames = new List<(string Path, bool Array, string? Key, int Items)>();
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = DocumentNode.MaxDepth + 2 });
        try
        {
            while (reader.Read())
            {
                // The token that holds the offset (a key at its start, a string with a bad byte inside).
                if (offset is { } stop && stop < reader.BytesConsumed)
                {
                    return reader.TokenType == JsonTokenType.PropertyName && frames.Count > 0
                        ? Join(frames[^1].Path, Encoding.UTF8.GetString(reader.ValueSpan))
                        : Current(frames, element);
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        frames[^1] = frames[^1] with { Key = Encoding.UTF8.GetString(reader.ValueSpan) };
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        frames.Add((Current(frames, element: true), reader.TokenType == JsonTokenType.StartArray, null, 0));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        Completed(frames);
                        break;
                    default:
                        Completed(frames);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Stopped where the first reading stopped.
        }

        return Current(frames, element);
    }

    /// <summary>The path of the value that comes next: the key's in an object, the next index's in an array.</summary>
    private static string Current(List<(string Path, bool Array, string? Key, int Items)> frames, bool element)
    {
        if (frames.Count == 0)
        {
            return "$";
        }

        var (path, array, key, items) = frames[^1];
        return array ? (element ? $"{Root(path)}[{items}]" : path) : key is null ? path : Join(path, key);
    }

    /// <summary>A value ended: an object's key is used up, an array has one item more.</summary>
    private static void Completed(List<(string Path, bool Array, string? Key, int Items)> frames)
    {
        if (frames.Count > 0)
        {
            var top = frames[^1];
            frames[^1] = top.Array ? top with { Items = top.Items + 1 } : top with { Key = null };
        }
    }

    private static string Root(string path) => path == "$" ? string.Empty : path;

    private static string Join(string path, string key) => path == "$" ? key : $"{path}.{key}";

    private static (int Line, int Column) LineAndColumn(ReadOnlySpan<byte> utf8, long offset)
    {
        var end = (int)Math.Min(offset, utf8.Length);
        var before = utf8[..end];
        var line = before.Count((byte)'\n') + 1;
        var lineStart = before.LastIndexOf((byte)'\n') + 1;
        return (line, Characters(before[lineStart..]) + 1);
    }

    private static int Column(ReadOnlySpan<byte> utf8, int line, int bytesIntoLine)
    {
        var start = 0;
        for (var l = 1; l < line && start < utf8.Length; l++)
        {
            var next = utf8[start..].IndexOf((byte)'\n');
            start = next < 0 ? utf8.Length : start + next + 1;
        }

        var end = Math.Min(utf8.Length, start + bytesIntoLine);
        return Characters(utf8[start..end]) + 1;
    }

    /// <summary>Characters, not bytes: every byte that does not continue a UTF-8 sequence starts one.</summary>
    private static int Characters(ReadOnlySpan<byte> bytes)
    {
        var count = 0;
        foreach (var b in bytes)
        {
            if ((b & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        message = cut > 0 ? message[..cut].TrimEnd() : message;
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
