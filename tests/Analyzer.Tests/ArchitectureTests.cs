using System.Text.RegularExpressions;
using NetArchTest.Rules;

namespace Canary.Analyzer.Tests;

/// <summary>The folders of src/Analyzer point one way: each type uses only the folders docs/architecture.md allows its own.</summary>
public sealed partial class ArchitectureTests
{
    private static readonly Lazy<Dictionary<string, HashSet<string>>> Allowed = new(ReadRule);

    public static TheoryData<string> Folders => new(Allowed.Value.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Folders))]
    public void A_folder_uses_only_the_folders_the_architecture_allows_it(string folder)
    {
        var forbidden = Allowed.Value.Keys.Where(f => f != folder && !Allowed.Value[folder].Contains(f)).Select(f => $"Canary.Analyzer.{f}").ToArray();
        var result = Types.InAssembly(typeof(global::Canary.Analyzer.Rollouts.RolloutStateMachine).Assembly)
            .That().ResideInNamespace($"Canary.Analyzer.{folder}")
            .ShouldNot().HaveDependencyOnAny(forbidden)
            .GetResult();
        Assert.True(result.IsSuccessful, $"{folder} may use {string.Join(", ", Allowed.Value[folder])}; these of its types use more: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Fact]
    public void The_allowed_directions_form_no_cycle()
    {
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string folder, List<string> path)
        {
            Assert.False(visiting.Contains(folder), $"cycle: {string.Join(" → ", path.Append(folder))}");
            if (!done.Add(folder))
            {
                return;
            }

            visiting.Add(folder);
            foreach (var next in Allowed.Value[folder])
            {
                Visit(next, [.. path, folder]);
            }

            visiting.Remove(folder);
        }

        foreach (var folder in Allowed.Value.Keys)
        {
            Visit(folder, []);
        }
    }

    [Fact]
    public void Every_folder_of_the_source_has_its_row_in_the_architecture()
    {
        var namespaces = typeof(global::Canary.Analyzer.Rollouts.RolloutStateMachine).Assembly.GetTypes()
            .Select(t => t.Namespace).OfType<string>().Where(n => n.StartsWith("Canary.Analyzer.", StringComparison.Ordinal))
            .Select(n => n.Split('.')[2]).ToHashSet(StringComparer.Ordinal);
        Assert.Empty(namespaces.Except(Allowed.Value.Keys));
    }

    /// <summary>The table between the allowed-dependencies markers of docs/architecture.md: folder → the folders it may use.</summary>
    private static Dictionary<string, HashSet<string>> ReadRule()
    {
        var text = File.ReadAllText(Path.Combine(Support.Repository.Root, "docs", "architecture.md"));
        var table = Table().Match(text);
        Assert.True(table.Success, "docs/architecture.md has no allowed-dependencies table");
        var rule = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in table.Groups[1].Value.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries);
            if (cells[1] is "folder" or "---")
            {
                continue;
            }

            rule[cells[1]] = [.. cells[3].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Where(c => c != "—")];
        }

        return rule;
    }

    [GeneratedRegex("<!-- allowed-dependencies[^>]*-->(.*?)<!-- end allowed-dependencies -->", RegexOptions.Singleline)]
    private static partial Regex Table();
}
