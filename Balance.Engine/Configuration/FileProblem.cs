namespace Balance.Configuration;

/// <summary>
/// Rewords a file system failure on a user's file so that it names that file and the cure, not a
/// temporary name or the runtime's wording ("Access to the path '/tmp' is denied" for a folder).
/// The exception type stays, so callers keep choosing the error category by it.
/// </summary>
internal static class FileProblem
{
    public static Exception Explain(string path, Exception e)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? full;
        return e switch
        {
            _ when Directory.Exists(full) => new IOException($"{full} is a folder: give a file name", e),
            DirectoryNotFoundException => new DirectoryNotFoundException($"the folder {folder} does not exist: create it or give another path", e),
            FileNotFoundException => new FileNotFoundException($"{full} does not exist: give the path of a saved layout", full, e),
            UnauthorizedAccessException => new UnauthorizedAccessException($"permission denied on {full} or its folder {folder}: check its owner and mode", e),
            _ => e,
        };
    }
}
