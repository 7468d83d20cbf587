using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Canary.Analyzer.Documents;

internal enum NodeKind
{
    Mapping,
    Sequence,
    String,
    Number,
    Boolean,
    Null,
}

/// <summary>
/// A config document read from JSON or YAML into one small tree that remembers the line of every
/// node, so a problem can be reported as "file:line field: reason" whichever format the user wrote.
/// YAML plain scalars are typed by the YAML 1.2 core schema (true/false, null, numbers); quoted
/// scalars are always strings, so "yes" or "on" stay strings and never turn into booleans.
/// </summary>
internal sealed partial class DocumentNode
{
    /// <summary>The deepest nesting accepted, in JSON and in YAML alike.</summary>
    public const int MaxDepth = 64;

    private DocumentNode(NodeKind kind, int line, string text = "")
    {
        Kind = kind;
        Line = line;
        Text = text;
    }

    public NodeKind Kind { get; }

    /// <summary>1-based line where the node starts.</summary>
    public int Line { get; }

    /// <summary>A scalar's text: the string, or the number or boolean as written.</summary>
    public string Text { get; }

    public List<(string Key, DocumentNode Value)> Members { get; } = [];

    public List<DocumentNode> Items { get; } = [];

    public bool IsNull => Kind == NodeKind.Null;

    public DocumentNode? this[string key]
    {
        get
        {
            foreach (var (name, value) in Members)
            {
                if (name == key)
                {
                    return value;
                }
            }

            return null;
        }
    }

    public bool TryGetNumber(out double value)
    {
        value = 0;
        if (Kind != NodeKind.Number)
        {
            return false;
        }

        var text = Text;
        switch (text)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                value = double.PositiveInfinity;
                return true;
            case "-.inf" or "-.Inf" or "-.INF":
                value = double.NegativeInfinity;
                return true;
            case ".nan" or ".NaN" or ".NAN":
                value = double.NaN;
                return true;
        }

        if (text.StartsWith("0x", StringComparison.Ordinal) || text.StartsWith("0o", StringComparison.Ordinal))
        {
            // Hexadecimal and octal integers, as YAML 1.2 writes them; too large for 63 bits is not a number here.
            var radix = text[1] == 'x' ? 16 : 8;
            var whole = 0L;
            foreach (var digit in text.AsSpan(2))
            {
                var v = digit <= '9' ? digit - '0' : (char.ToLowerInvariant(digit) - 'a') + 10;
                if (whole > (long.MaxValue - v) / radix)
                {
                    return false;
                }

                whole = (whole * radix) + v;
            }

            value = whole;
            return true;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A short rendering for messages: strings quoted, containers named, long values cut.</summary>
    public string Describe() => Shorten(Kind switch
    {
        NodeKind.String => $"\"{Text}\"",
        NodeKind.Mapping => "an object",
        NodeKind.Sequence => "an array",
        NodeKind.Null => "null",
        _ => Text,
    });

    /// <summary>Cuts a rendered value to 60 characters, so one bad value cannot flood the terminal.</summary>
    public static string Shorten(string text) => text.Length > 60 ? string.Concat(text.AsSpan(0, 57), "...") : text;

    /// <summary>Reads text as JSON (a *.json file: JSON's own error messages) or as YAML (anything else; YAML 1.2 reads JSON too).</summary>
    /// <exception cref="DocumentException">The text is not well-formed.</exception>
    public static DocumentNode Parse(string text, bool json = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        return json ? ParseJson(Encoding.UTF8.GetBytes(text)) : ParseYaml(text);
    }

    /// <exception cref="DocumentException">The bytes are not UTF-8, or not one well-formed JSON value; it names the path, line and column.</exception>
    public static DocumentNode ParseJson(ReadOnlyMemory<byte> utf8)
    {
        CheckUtf8(utf8.Span);
        var reader = new Utf8JsonReader(utf8.Span, new JsonReaderOptions { MaxDepth = MaxDepth });
        var lines = new LineCounter(utf8);
        try
        {
            reader.Read();
            var node = ReadJson(ref reader, lines);
            while (reader.Read())
            {
            }

            return node;
        }
        catch (JsonException e)
        {
            throw JsonLocation.Syntax(utf8.Span, e);
        }
        catch (DocumentException e) when (e.Offset >= 0)
        {
            throw JsonLocation.At(utf8.Span, e.Offset, e.Reason);
        }
    }

    /// <summary>JSON text is UTF-8 (RFC 8259): a byte that is not is an input error at its place, never a fault later.</summary>
    /// <exception cref="DocumentException">There is one.</exception>
    public static void CheckUtf8(ReadOnlySpan<byte> utf8)
    {
        var bad = JsonLocation.FirstInvalidUtf8(utf8);
        if (bad >= 0)
        {
            throw JsonLocation.At(utf8, bad, $"byte 0x{utf8[(int)bad]:X2} at offset {bad} is not UTF-8; JSON text must be UTF-8");
        }
    }

    /// <summary>Builds the node for the value at the reader's current token and leaves the reader on its last token.</summary>
    public static DocumentNode ReadJson(ref Utf8JsonReader reader, LineCounter lines)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var line = lines.LineOf(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var mapping = new DocumentNode(NodeKind.Mapping, line);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var keyLine = lines.LineOf(reader.TokenStartIndex);
                    var keyOffset = reader.TokenStartIndex;
                    var key = reader.GetString()!;
                    reader.Read();
                    var value = ReadJson(ref reader, lines);
                    if (mapping[key] is not null)
                    {
                        throw new DocumentException(keyLine, $"duplicate key \"{key}\"") { Offset = keyOffset };
                    }

                    mapping.Members.Add((key, value));
                }

                return mapping;
            case JsonTokenType.StartArray:
                var sequence = new DocumentNode(NodeKind.Sequence, line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    sequence.Items.Add(ReadJson(ref reader, lines));
                }

                return sequence;
            case JsonTokenType.String:
                return new DocumentNode(NodeKind.String, line, reader.GetString()!);
            case JsonTokenType.Number:
                return new DocumentNode(NodeKind.Number, line, Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.True or JsonTokenType.False:
                return new DocumentNode(NodeKind.Boolean, line, reader.TokenType == JsonTokenType.True ? "true" : "false");
            default:
                return new DocumentNode(NodeKind.Null, line, "null");
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }

    private static string Child(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    [GeneratedRegex(@"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex YamlNumber();
}

/// <summary>Turns byte offsets that only grow into 1-based line numbers, counting each newline once.</summary>
internal sealed class LineCounter(ReadOnlyMemory<byte> utf8)
{
    private int offset;
    private int line = 1;

    public int LineOf(long position)
    {
        var target = (int)Math.Min(position, utf8.Length);
        if (target > offset)
        {
            line += utf8.Span[offset..target].Count((byte)'\n');
            offset = target;
        }

        return line;
    }
}

/// <summary>
/// A document that is not well-formed JSON or YAML. Line and Column are 1-based (0 when unknown);
/// Path is the field being read ("$" for the document itself); Offset, while known only as a byte
/// offset of a JSON text (≥ 0), is turned into line, column and path by the parser.
/// </summary>
internal sealed class DocumentException(int line, string reason, int column = 0, string path = "$") : Exception(reason)
{
    public int Line { get; } = line;

    public int Column { get; } = column;

    public string Path { get; } = path;

    public string Reason { get; } = reason;

    public long Offset { get; init; } = -1;

    /// <summary>As a problem naming the field, the line and the column.</summary>
    public DocumentProblem ToProblem() => new(Line, Path, Reason) { Column = Column };
}
