namespace BalancePowerShellTests;

public sealed class ChannelCmdletTests : IDisposable
{
    private readonly FakeInstance fake = FakeInstance.WithSampleChannels();
    private readonly PowerShellSession ps = new();

    public void Dispose()
    {
        ps.Dispose();
        fake.Dispose();
    }

    [Fact]
    public void Get_BalanceChannel_returns_typed_channels_with_instance_identity()
    {
        var channels = ps.Run("Get-BalanceChannel -Port $args[0]", fake.Port).ThrowOnError().Of("BalanceChannel");
        Assert.Equal(4, channels.Count);
        var first = channels[0];
        Assert.Equal((fake.Port, "127.0.0.1", 0, 0, "127.0.0.1:9101", 9101, true), (first.P<int>("Port"), first.P<string>("BindAddress"), first.P<int>("Group"), first.P<int>("Index"), first.P<string>("Destination"), first.P<int>("RemotePort"), first.P<bool>("Enabled")));
        Assert.Equal((3L, 6L, 18L), (first.P<long>("TotalConnections"), first.P<long>("BytesSent"), first.P<long>("BytesReceived")));
        Assert.Equal((3, 2L), (channels[1].P<int>("MaxConnections"), channels[1].P<long>("Failures")));
        Assert.Equal((1, "Hash", false), (channels[3].P<int>("Group"), channels[3].P<string>("GroupType"), channels[3].P<bool>("Enabled")));
    }

    [Fact]
    public void Get_BalanceChannel_narrows_by_group_and_index()
    {
        var r = ps.Run("Get-BalanceChannel -Port $args[0] -Group 0 -Index 0, 2", fake.Port).ThrowOnError().Of("BalanceChannel");
        Assert.Equal([9101, 9103], r.Select(c => c.P<int>("RemotePort")));
        Assert.Single(ps.Run("Get-BalanceChannel $args[0] -Group 1", fake.Port).ThrowOnError().Of("BalanceChannel"));
    }

    [Fact]
    public void Get_BalanceChannel_without_port_includes_every_instance()
    {
        var r = ps.Run("Get-BalanceChannel | Where-Object Port -eq $args[0]", fake.Port).ThrowOnError();
        Assert.Equal(4, r.Output.Count);
    }

    [Fact]
    public void Missing_channel_and_instance_are_ObjectNotFound_with_stable_ids()
    {
        var r = ps.Run("Get-BalanceChannel -Port $args[0] -Group 0 -Index 7", fake.Port);
        Assert.Equal(["ChannelNotFound,Balance.PowerShell.GetBalanceChannelCommand"], r.ErrorIds);
        Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, r.Errors[0].CategoryInfo.Category);

        r = ps.Run("Disable-BalanceChannel -Port $args[0] -Index 0", FreePort.Next());
        Assert.Equal(["InstanceNotFound,Balance.PowerShell.DisableBalanceChannelCommand"], r.ErrorIds);
        Assert.Equal(System.Management.Automation.ErrorCategory.ObjectNotFound, r.Errors[0].CategoryInfo.Category);

        // Group 3 exists (empty) in an instance sized for 4 groups; group 9 does not.
        Assert.Empty(ps.Run("Get-BalanceChannel -Port $args[0] -Group 3", fake.Port).ThrowOnError().Output);
        r = ps.Run("Get-BalanceGroup -Port $args[0] -Group 9; Get-BalanceChannel -Port $args[0] -Group 9", fake.Port);
        Assert.Equal(["GroupNotFound,Balance.PowerShell.GetBalanceGroupCommand", "GroupNotFound,Balance.PowerShell.GetBalanceChannelCommand"], r.ErrorIds);
    }

    [Fact]
    public void Validation_rejects_out_of_range_values_at_binding()
    {
        var r = ps.Run("Enable-BalanceChannel -Port 70000 -Index 0");
        Assert.StartsWith("ParameterArgumentValidationError,", Assert.Single(r.ErrorIds), StringComparison.Ordinal);
        r = ps.Run("Set-BalanceChannel -Port $args[0] -Index 0 -MaxConnections -1", fake.Port);
        Assert.StartsWith("ParameterArgumentValidationError,", Assert.Single(r.ErrorIds), StringComparison.Ordinal);
    }

    [Fact]
    public void Disable_and_enable_by_identity_with_PassThru()
    {
        var c = ps.Run("Disable-BalanceChannel -Port $args[0] -Index 1 -PassThru", fake.Port).ThrowOnError().Single;
        Assert.False(c.P<bool>("Enabled"));
        Assert.False(fake.Client.GetChannel(0, 1).Enabled);
        Assert.Empty(ps.Run("Enable-BalanceChannel $args[0] 1", fake.Port).ThrowOnError().Output);
        Assert.True(fake.Client.GetChannel(0, 1).Enabled);
    }

    [Fact]
    public void Pipeline_by_value_disables_every_piped_channel()
    {
        ps.Run("Get-BalanceChannel -Port $args[0] -Group 0 | Disable-BalanceChannel", fake.Port).ThrowOnError();
        Assert.All(fake.Client.GetChannels(0), c => Assert.False(c.Enabled));
    }

    [Fact]
    public void Pipeline_by_property_name_binds_port_group_and_index()
    {
        ps.Run("[pscustomobject]@{ Port = $args[0]; Group = 1; Index = 0 } | Enable-BalanceChannel", fake.Port).ThrowOnError();
        Assert.True(fake.Client.GetChannel(1, 0).Enabled);
        ps.Run("[pscustomobject]@{ Port = $args[0]; BindAddress = '127.0.0.1'; Group = 0; Index = 2 } | Disable-BalanceChannel", fake.Port).ThrowOnError();
        Assert.False(fake.Client.GetChannel(0, 2).Enabled);
    }

    [Fact]
    public void WhatIf_changes_nothing_and_writes_nothing()
    {
        var before = fake.Client.Snapshot();
        var r = ps.Run(
            """
            $p = $args[0]
            Disable-BalanceChannel -Port $p -Index 0, 1, 2 -WhatIf -PassThru
            Get-BalanceChannel -Port $p | Disable-BalanceChannel -WhatIf -PassThru
            Enable-BalanceChannel -Port $p -Group 1 -Index 0 -WhatIf -PassThru
            Reset-BalanceChannel -Port $p -Index 0 -WhatIf -PassThru
            Set-BalanceChannel -Port $p -Index 0 -MaxConnections 9 -WhatIf -PassThru
            Add-BalanceChannel -Port $p -Destination 127.0.0.1:9200 -WhatIf -PassThru
            Set-BalanceGroup -Port $p -Group 0 -Type Hash -WhatIf -PassThru
            Stop-Balance -Port $p -WhatIf -PassThru
            """,
            fake.Port).ThrowOnError();
        Assert.Empty(r.Output);
        var after = fake.Client.Snapshot();
        Assert.Equal(before.Channels, after.Channels);
        Assert.Equal(before.Groups, after.Groups);
        Assert.False(fake.Killed);
    }

    [Fact]
    public void Reset_zeroes_counters_but_not_live_connections()
    {
        fake.Segment.Channel(0, 0).Connections = 1;
        var c = ps.Run("Reset-BalanceChannel -Port $args[0] -Index 0 -Confirm:$false -PassThru", fake.Port).ThrowOnError().Single;
        Assert.Equal((0L, 0L, 0L, 0L, 1), (c.P<long>("TotalConnections"), c.P<long>("Failures"), c.P<long>("BytesSent"), c.P<long>("BytesReceived"), c.P<int>("Connections")));
    }

    [Fact]
    public void Set_Weight_by_name_from_piped_channels_and_from_csv_rows()
    {
        var c = ps.Run("Set-BalanceChannel -Port $args[0] -Index 1 -Weight 3 -PassThru", fake.Port).ThrowOnError().Single;
        Assert.Equal(3, c.P<int>("Weight"));
        Assert.Equal(3, fake.Client.GetChannel(0, 1).Weight);

        ps.Run("Get-BalanceChannel -Port $args[0] -Group 0 | Set-BalanceChannel -Weight 0", fake.Port).ThrowOnError();
        Assert.All(fake.Client.GetChannels(0), x => Assert.Equal(0, x.Weight));

        // Piped channel objects keep their weight when another setting changes.
        fake.Client.SetWeight(0, 2, 5);
        ps.Run("Get-BalanceChannel -Port $args[0] -Group 0 | Set-BalanceChannel -MaxConnections 9", fake.Port).ThrowOnError();
        Assert.Equal(5, fake.Client.GetChannel(0, 2).Weight);

        ps.Run("'Port,Group,Index,Weight', \"$($args[0]),0,0,7\", \"$($args[0]),1,0,2\" | ConvertFrom-Csv | Set-BalanceChannel", fake.Port).ThrowOnError();
        Assert.Equal((7, 2), (fake.Client.GetChannel(0, 0).Weight, fake.Client.GetChannel(1, 0).Weight));

        var r = ps.Run("Set-BalanceChannel -Port $args[0] -Index 0 -Weight 257", fake.Port);
        Assert.Single(r.Errors);
        Assert.Equal(7, fake.Client.GetChannel(0, 0).Weight);

        var what = ps.Run("Set-BalanceChannel -Port $args[0] -Index 0 -Weight 1 -WhatIf", fake.Port).ThrowOnError();
        Assert.Empty(what.Output);
        Assert.Equal(7, fake.Client.GetChannel(0, 0).Weight);
    }

    [Fact]
    public void Set_changes_only_bound_values_and_assigns_only_disabled_channels()
    {
        ps.Run("Set-BalanceChannel -Port $args[0] -Index 1 -MaxConnections 7", fake.Port).ThrowOnError();
        var c = fake.Client.GetChannel(0, 1);
        Assert.Equal((7, "127.0.0.1", 9102), (c.MaxConnections, c.Host, c.Port));

        var r = ps.Run("Set-BalanceChannel -Port $args[0] -Index 1 -Destination localhost:9300", fake.Port);
        Assert.Equal(["ChannelMustBeDisabled,Balance.PowerShell.SetBalanceChannelCommand"], r.ErrorIds);
        Assert.Contains("disable it first", r.Errors[0].Exception.Message, StringComparison.Ordinal);
        Assert.Equal(9102, fake.Client.GetChannel(0, 1).Port);

        ps.Run("Set-BalanceChannel -Port $args[0] -Group 1 -Index 0 -Destination 127.0.0.2", fake.Port).ThrowOnError();
        c = fake.Client.GetChannel(1, 0);
        Assert.Equal(("127.0.0.2", 9104), (c.Host, c.Port));

        r = ps.Run("Set-BalanceChannel -Port $args[0] -Group 1 -Index 0 -Destination 'bad:port:x:y'", fake.Port);
        Assert.Equal(["InvalidAddress,Balance.PowerShell.SetBalanceChannelCommand"], r.ErrorIds);

        r = ps.Run("Set-BalanceChannel -Port $args[0] -Group 1 -Index 0", fake.Port);
        Assert.Equal(["NothingToChange,Balance.PowerShell.SetBalanceChannelCommand"], r.ErrorIds);
    }

    [Fact]
    public void Add_creates_disabled_channels_unless_Enabled()
    {
        var added = ps.Run("Add-BalanceChannel -Port $args[0] -Destination 127.0.0.1:9201:4 -PassThru", fake.Port).ThrowOnError().Of("BalanceChannel");
        Assert.Equal((3, false, 4, 9201), (added[0].P<int>("Index"), added[0].P<bool>("Enabled"), added[0].P<int>("MaxConnections"), added[0].P<int>("RemotePort")));

        added = ps.Run("Add-BalanceChannel -Port $args[0] -Group 2 -Destination 127.0.0.1 -MaxConnections 2 -Enabled -PassThru", fake.Port).ThrowOnError().Of("BalanceChannel");
        Assert.Equal((2, 0, true, 2, fake.Port), (added[0].P<int>("Group"), added[0].P<int>("Index"), added[0].P<bool>("Enabled"), added[0].P<int>("MaxConnections"), added[0].P<int>("RemotePort")));

        var r = ps.Run("Add-BalanceChannel -Port $args[0] -Destination '[nope' ", fake.Port);
        Assert.Equal(["InvalidAddress,Balance.PowerShell.AddBalanceChannelCommand"], r.ErrorIds);
    }

    [Fact]
    public void Add_reports_a_full_group()
    {
        var r = ps.Run("Add-BalanceChannel -Port $args[0] -Group 3 -Destination (1..9 | ForEach-Object { \"127.0.0.1:$(9300 + $_)\" })", fake.Port);
        Assert.Equal(["GroupFull,Balance.PowerShell.AddBalanceChannelCommand"], r.ErrorIds);
        Assert.Equal(8, fake.Client.GetGroup(3).ChannelCount);
    }
}
