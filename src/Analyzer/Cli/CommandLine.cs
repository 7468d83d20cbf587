using Canary.Analyzer.Documents;

namespace Canary.Analyzer.Cli;

/// <summary>
/// The parsed words of one command: positional arguments, flags without a value and options with
/// one (--name value or --name=value). An unknown flag, a missing value or a stray word is a usage error.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> options = new(StringComparer.Ordinal);
    private readonly HashSet<string> flags = new(StringComparer.Ordinal);

    private CommandLine(string command, List<string> positional)
    {
        Command = command;
        Positional = positional;
    }

    public string Command { get; }

    public IReadOnlyList<string> Positional { get; }

    public static CommandLine Parse(string command, IReadOnlyList<string> words, ISet<string> knownFlags, ISet<string> knownOptions)
    {
        var line = new CommandLine(command, []);
        var positional = (List<string>)line.Positional;
        for (var i = 0; i < words.Count; i++)
        {
            var word = words[i];
            if (!word.StartsWith("--", StringComparison.Ordinal) || word == "--")
            {
                positional.Add(word);
                continue;
            }

            var equals = word.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? word[..equals] : word;
            if (knownFlags.Contains(name) && equals < 0)
            {
                line.flags.Add(name);
            }
            else if (knownOptions.Contains(name))
            {
                var value = equals > 0 ? word[(equals + 1)..] : i + 1 < words.Count ? words[++i] : null;
                value = value ?? throw new InputException($"{name}: needs a value (canary {command} --help)");
                if (!line.options.TryGetValue(name, out var values))
                {
                    line.options[name] = values = [];
                }

                values.Add(value);
            }
            else
            {
                var all = knownFlags.Concat(knownOptions).Order(StringComparer.Ordinal);
                throw new InputException($"{name}: unknown flag for canary {command}; known: {string.Join(", ", all)}");
            }
        }

        return line;
    }

    public bool Has(string flag) => flags.Contains(flag);

    /// <summary>The option's value; given twice, the last one wins.</summary>
    public string? Option(string name) => options.TryGetValue(name, out var values) ? values[^1] : null;

    /// <summary>Every value of an option that may be repeated (--var, --header), in order.</summary>
    public IReadOnlyList<string> Options(string name) => options.TryGetValue(name, out var values) ? values : [];
}
