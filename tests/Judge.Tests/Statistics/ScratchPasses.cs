using Canary.Judge.Statistics;
using Canary.Judge.Tests.Support;
using Xunit.Abstractions;

namespace Canary.Judge.Tests.Statistics;

public class ScratchPasses(ITestOutputHelper output)
{
    [Fact]
    public void Show()
    {
        foreach (var seed in new[] { 1, 2, 3, 4 })
        {
            var random = new Random(seed);
            var c = Samples.Sorted(Samples.LogNormal(random, 1000, 120, 0.3).Select(v => Math.Round(v, 3)).ToArray());
            var e = Samples.Sorted(Samples.LogNormal(random, 1000, seed % 2 == 0 ? 120 : 132, 0.3).Select(v => Math.Round(v, 3)).ToArray());
            var scratch = new double[8000];
            var d = new PairwiseDifferences(e, c, scratch);
            var r = new List<int>();
            foreach (var k in new long[] { 500_000, 500_001, 467_000, 533_000 }) { d.Select(k); r.Add(d.Passes); }
            output.WriteLine(string.Join(" ", r));
        }
    }
}
