using Canary.Analyzer.Documents;
using System.Buffers;
using System.Text;

namespace Canary.Analyzer.Cli;

/// <summary>
/// Reads a judge document from a file or standard input, bounded: at most Judge:MaxInputBytes, and
/// no further than the chunk holding the first byte JSON text cannot contain (not UTF-8, or a
/// control character), so /dev/zero or /dev/urandom is refused at once instead of read forever.
/// The parser then names that byte's line and column.
/// </summary>
internal static class JudgeInput
{
    /// <summary>The default of Judge:MaxInputBytes: 256 MiB.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    private const int Chunk = 64 * 1024;

    // Control characters other than tab, line feed and carriage return never appear in JSON text (RFC 8259 §7: strings escape them).
    private static readonly SearchValues<byte> Forbidden = SearchValues.Create([.. Enumerable.Range(0, 0x20).Where(b => b is not (9 or 10 or 13)).Select(b => (byte)b)]);

    public static async Task<ReadOnlyMemory<byte>> ReadAsync(string file, TextReader stdin, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(stdin);
        if (file == "-")
        {
            if (stdin is StreamReader { BaseStream: { } raw })
            {
                return await ReadBoundedAsync(raw, "-", maxBytes, cancellationToken);
            }

            // A reader of text (tests): already decoded.
            using var text = new MemoryStream(Encoding.UTF8.GetBytes(await stdin.ReadToEndAsync(cancellationToken)));
            return await ReadBoundedAsync(text, "-", maxBytes, cancellationToken);
        }

        if (Directory.Exists(file))
        {
            throw new InputException($"{file}: is a directory; give a JSON file (or - for standard input)");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "no such file",
                UnauthorizedAccessException => "permission denied",
                _ => e.Message,
            };
            throw new InputException($"{file}: cannot read: {reason}");
        }

        await using (stream)
        {
            return await ReadBoundedAsync(stream, file, maxBytes, cancellationToken);
        }
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(Stream stream, string file, long maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(Chunk);
        var checkedTo = 0;
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer.GetMemory(Chunk)[..Chunk], cancellationToken);
            }
            catch (IOException e)
            {
                throw new InputException($"{file}: cannot read: {e.Message}");
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > maxBytes)
            {
                throw new InputException($"{file}: is larger than {maxBytes} bytes, the most Judge:MaxInputBytes allows (set CANARY__Judge__MaxInputBytes to judge more)");
            }

            var written = buffer.WrittenSpan;
            var end = read == 0 ? written.Length : SequenceBoundary(written);
            var fresh = written[checkedTo..end];
            if (fresh.IndexOfAny(Forbidden) >= 0 || !System.Text.Unicode.Utf8.IsValid(fresh))
            {
                // Not JSON from here on: what was read (up to a whole UTF-8 sequence) is enough for the parser to name the place.
                return buffer.WrittenMemory[..end];
            }

            checkedTo = end;
            if (read == 0)
            {
                return buffer.WrittenMemory;
            }
        }
    }

    /// <summary>The end of the last complete UTF-8 sequence: a sequence cut by the chunk's end is checked with the next chunk.</summary>
    private static int SequenceBoundary(ReadOnlySpan<byte> bytes)
    {
        for (var back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            var b = bytes[^back];
            if ((b & 0x80) == 0)
            {
                return bytes.Length;
            }

            if ((b & 0xC0) == 0xC0)
            {
                var length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
                return back < length ? bytes.Length - back : bytes.Length;
            }
        }

        return bytes.Length;
    }
}
