using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Canary.Analyzer.Documents;

/// <summary>YAML into the document tree, by YamlDotNet's event parser (no object mapping, so types stay under our rules).</summary>
internal sealed partial class DocumentNode
{
    /// <exception cref="DocumentException">The text is not one well-formed YAML document.</exception>
    public static DocumentNode ParseYaml(string text)
    {
        var anchors = new Dictionary<string, DocumentNode>(StringComparer.Ordinal);
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _))
            {
                return new DocumentNode(NodeKind.Null, 1, "null");
            }

            parser.Consume<DocumentStart>();
            var root = ReadYaml(parser, anchors, 0, string.Empty);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
            {
                throw new DocumentException(parser.Current?.Start.Line is { } l ? (int)l : 0, "a config file holds one YAML document; found a second after ---");
            }

            return root;
        }
        catch (YamlException e)
        {
            throw Syntax(e, "$");
        }
    }

    private static DocumentException Syntax(YamlException e, string path)
    {
        var reason = e.InnerException is YamlException inner && inner.Message.Length > 0 ? inner.Message : e.Message;
        return new DocumentException((int)e.Start.Line, $"malformed YAML: {FirstSentence(StripLocation(reason))}", (int)e.Start.Column, path.Length == 0 ? "$" : path);
    }

    private static DocumentNode ReadYaml(IParser parser, Dictionary<string, DocumentNode> anchors, int depth, string path)
    {
        try
        {
            return ReadYamlNode(parser, anchors, depth, path);
        }
        catch (YamlException e)
        {
            // Raised while reading this node and none below it: the innermost path.
            throw Syntax(e, path);
        }
    }

    private static DocumentNode ReadYamlNode(IParser parser, Dictionary<string, DocumentNode> anchors, int depth, string path)
    {
        if (depth > MaxDepth)
        {
            throw new DocumentException((int)(parser.Current?.Start.Line ?? 0), $"nested more than {MaxDepth} levels deep");
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            return anchors.TryGetValue(alias.Value.Value, out var target)
                ? target
                : throw new DocumentException((int)alias.Start.Line, $"alias *{alias.Value.Value} names no anchor before it");
        }

        DocumentNode node;
        string? anchor;
        if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            anchor = mappingStart.Anchor.IsEmpty ? null : mappingStart.Anchor.Value;
            node = new DocumentNode(NodeKind.Mapping, (int)mappingStart.Start.Line);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyNode = ReadYaml(parser, anchors, depth + 1, path);
                if (keyNode.Kind is NodeKind.Mapping or NodeKind.Sequence)
                {
                    throw new DocumentException(keyNode.Line, "keys must be plain words, not objects or arrays");
                }

                var value = ReadYaml(parser, anchors, depth + 1, Child(path, keyNode.Text));
                if (node[keyNode.Text] is not null)
                {
                    throw new DocumentException(keyNode.Line, $"duplicate key \"{keyNode.Text}\"", 0, Child(path, keyNode.Text));
                }

                node.Members.Add((keyNode.Text, value));
            }
        }
        else if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            anchor = sequenceStart.Anchor.IsEmpty ? null : sequenceStart.Anchor.Value;
            node = new DocumentNode(NodeKind.Sequence, (int)sequenceStart.Start.Line);
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                node.Items.Add(ReadYaml(parser, anchors, depth + 1, $"{path}[{node.Items.Count}]"));
            }
        }
        else
        {
            var scalar = parser.Consume<Scalar>();
            anchor = scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value;
            var kind = scalar.Style is ScalarStyle.Plain ? TypeOfPlain(scalar.Value) : NodeKind.String;
            node = new DocumentNode(kind, (int)scalar.Start.Line, scalar.Value);
        }

        if (anchor is not null)
        {
            anchors[anchor] = node;
        }

        return node;
    }

    /// <summary>The YAML 1.2 core schema's resolution of a plain scalar.</summary>
    private static NodeKind TypeOfPlain(string value) => value switch
    {
        "" or "~" or "null" or "Null" or "NULL" => NodeKind.Null,
        "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => NodeKind.Boolean,
        _ when YamlNumber().IsMatch(value) => NodeKind.Number,
        _ => NodeKind.String,
    };

    private static string StripLocation(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): "; the caller reports the line itself.
        var index = message.LastIndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && index > 0 ? message[(index + 3)..] : message;
    }
}
