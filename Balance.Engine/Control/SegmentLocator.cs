using System.Buffers.Binary;
using System.Globalization;
using Balance.Interop;
using Microsoft.Win32.SafeHandles;

namespace Balance.Control;

/// <summary>
/// Where an engine's sealed segment lives. On Linux the engine keeps its segment in a memfd whose
/// size is sealed (truncating it fails with EPERM for everyone, root included), because a shared
/// mapping of a file that shrinks faults (SIGBUS) on the next access to a lost page, and the
/// runtime turns that into an AccessViolationException no code can catch: one <c>truncate</c> of
/// the segment used to crash the proxy. The segment's name in the segment directory then holds
/// only this 32-byte record: pid, descriptor and start time of the engine. A control client opens
/// the memory through <c>/proc/PID/fd/N</c> (the kernel lets only the engine's user and root do
/// that), after checking the pid still is that engine. Truncating or overwriting the record cannot
/// hurt the engine; it rewrites the record on its next tick.
/// </summary>
internal static class SegmentLocator
{
    /// <summary>"BLOC": not the segment signature, so a reader can tell the two apart.</summary>
    public const uint Magic = 0x434F4C42;
    public const int Size = 32;
    private const uint Version = 1;

    /// <summary>True where sealed memory is available (Linux).</summary>
    public static bool IsAvailable => OwnedFile.IsChecked;

    /// <summary>Creates the sealed memory of <paramref name="size"/> bytes; throws <see cref="IOException"/> naming the errno.</summary>
    public static FileStream CreateMemory(SegmentName name, long size)
    {
        var fd = Libc.CreateSealedMemory(System.IO.Path.GetFileName(name.Path), size);
        if (fd < 0)
        {
            throw new IOException($"cannot create the sealed memory for {name.Path}: {Errors.Of(fd).Describe()}");
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            // /proc already limits who may reach it; 0600 (a memfd starts at 0777) says the same on the object.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(handle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            return new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates the record (mode 0600, never through a planted link) and keeps it open for
    /// <see cref="Repair"/>, which compares against <paramref name="record"/>.
    /// </summary>
    public static FileStream Publish(string path, int descriptor, out byte[] record)
    {
        record = Encode(descriptor);
        var stream = OwnedFile.Open(path, OwnedFileMode.CreateNew, lockExclusive: false)!;
        try
        {
            stream.Write(record);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the record to a new file beside the name (mode 0600, O_EXCL: a file planted there
    /// fails it) and renames it over the name in one step, so a reader finds the old engine's
    /// record or this one, never none. Keeps it open for <see cref="Repair"/>.
    /// </summary>
    public static FileStream PublishReplacing(string path, int descriptor, out byte[] record)
    {
        var staging = path + ".takeover";
        File.Delete(staging); // a crashed takeover's; one of another user's is refused by the sticky directory
        var stream = Publish(staging, descriptor, out record);
        try
        {
            File.Move(staging, path, overwrite: true);
            return stream;
        }
        catch
        {
            stream.Dispose();
            try
            {
                File.Delete(staging);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next takeover's O_EXCL to report.
            }

            throw;
        }
    }

    /// <summary>True when the name holds exactly <paramref name="record"/> (read through no link).</summary>
    public static bool Holds(string path, byte[] record)
    {
        try
        {
            using var file = OwnedFile.Open(path, OwnedFileMode.Existing, lockExclusive: false)!;
            Span<byte> current = stackalloc byte[Size];
            return file.Length == Size && RandomAccess.Read(file.SafeFileHandle, current, 0) == Size && current.SequenceEqual(record);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Puts the record back when someone truncated or overwrote it; true when it had to.</summary>
    public static bool Repair(FileStream record, byte[] expected)
    {
        Span<byte> current = stackalloc byte[Size];
        if (RandomAccess.GetLength(record.SafeFileHandle) == Size
            && RandomAccess.Read(record.SafeFileHandle, current, 0) == Size
            && current.SequenceEqual(expected))
        {
            return false;
        }

        RandomAccess.SetLength(record.SafeFileHandle, Size);
        RandomAccess.Write(record.SafeFileHandle, expected, 0);
        return true;
    }

    /// <summary>
    /// When <paramref name="file"/> (the name's content) is a record, opens the memory it points
    /// at; null when it is not a record (a segment file, or garbage the caller validates).
    /// </summary>
    public static FileStream? Follow(SegmentName name, FileStream file)
    {
        if (!IsAvailable || file.Length != Size)
        {
            return null;
        }

        Span<byte> raw = stackalloc byte[Size];
        file.Position = 0;
        file.ReadExactly(raw);
        if (BinaryPrimitives.ReadUInt32LittleEndian(raw) != Magic)
        {
            return null;
        }

        var pid = BinaryPrimitives.ReadInt32LittleEndian(raw[8..]);
        var descriptor = BinaryPrimitives.ReadInt32LittleEndian(raw[12..]);
        var start = BinaryPrimitives.ReadInt64LittleEndian(raw[16..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(raw[4..]) != Version || pid <= 0 || descriptor < 0)
        {
            throw new ControlException(ControlError.Corrupt, $"the control segment {name.Path} is damaged: its locator record is not valid; stop any engine on {ControlSegment.Endpoint(name)} and delete the file");
        }

        if (ProcessIdentity.Of(pid) is not { } now || now.StartTicks != start)
        {
            throw Gone(name, pid, null);
        }

        try
        {
            return OwnedFile.OpenProcessDescriptor(pid, descriptor);
        }
        catch (FileNotFoundException e)
        {
            throw Gone(name, pid, e);
        }
        catch (ForeignFileException e)
        {
            throw new ControlException(ControlError.PermissionDenied, $"permission denied: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ControlException(
                ControlError.PermissionDenied,
                $"permission denied: the Balance instance on {ControlSegment.Endpoint(name)} belongs to another user (its memory is open to its owner only); run as that user",
                e);
        }
    }

    private static byte[] Encode(int descriptor)
    {
        var identity = ProcessIdentity.Current;
        var raw = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(raw, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(4), Version);
        BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(8), identity.Pid);
        BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(12), descriptor);
        BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(16), identity.StartTicks);
        return raw;
    }

    private static ControlException Gone(SegmentName name, int pid, Exception? inner) => new(
        ControlError.NotRunning,
        string.Create(CultureInfo.InvariantCulture, $"no master process with pid {pid}: the instance on {ControlSegment.Endpoint(name)} ended without cleaning up; start it again"),
        inner);
}
