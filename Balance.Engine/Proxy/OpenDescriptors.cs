using Balance.Interop;

namespace Balance.Proxy;

/// <summary>
/// Counts this process's open descriptors by listing /proc/self/fd through a directory descriptor
/// opened once and rewound for each count, so a count needs no new descriptor (it works while the
/// process is out of them) and allocates nothing. Linux only; elsewhere <see cref="TryOpen"/> is null.
/// </summary>
internal sealed unsafe class OpenDescriptors : IDisposable
{
    private const int BufferBytes = 32 * 1024;
    private readonly Lock gate = new();
    private readonly byte[] buffer = GC.AllocateUninitializedArray<byte>(BufferBytes, pinned: true);
    private int directory;

    private OpenDescriptors(int directory)
    {
        this.directory = directory;
    }

    /// <summary>A counter, or null where /proc/self/fd cannot be read.</summary>
    public static OpenDescriptors? TryOpen()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var fd = Libc.Open("/proc/self/fd", Libc.OpenDirectory | Libc.OpenCloseOnExec, 0);
        return fd < 0 ? null : new OpenDescriptors(fd);
    }

    /// <summary>Descriptors open now (this counter's own included); -1 when the listing failed.</summary>
    public int Count()
    {
        lock (gate)
        {
            if (directory < 0 || Libc.Rewind(directory) < 0)
            {
                return -1;
            }

            var count = 0;
            fixed (byte* start = buffer)
            {
                while (true)
                {
                    var read = Libc.GetDirectoryEntries(directory, start, BufferBytes);
                    if (read <= 0)
                    {
                        return read < 0 ? -1 : count;
                    }

                    count += CountRecords(start, (int)read);
                }
            }
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            if (directory >= 0)
            {
                _ = Libc.Close(directory);
                directory = -1;
            }
        }
    }

    /// <summary>Records of one getdents64 batch, less "." and "..": struct linux_dirent64 (d_reclen at 16, d_name at 19).</summary>
    private static int CountRecords(byte* start, int length)
    {
        var count = 0;
        for (var offset = 0; offset < length;)
        {
            var record = start + offset;
            var size = *(ushort*)(record + 16);
            if (size == 0)
            {
                break;
            }

            if (record[19] != (byte)'.')
            {
                count++;
            }

            offset += size;
        }

        return count;
    }
}
