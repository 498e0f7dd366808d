#!/usr/bin/perl
# Usage: restore.pl categories
#        restore.pl scan TABLE            < tar stream
#        restore.pl plan TABLE PLAN SAFETY_LIST   (settings in the environment, see plan())
#        restore.pl write TABLE PLAN      < tar stream
# Summary: the byte-exact engine of the legacy `proxmox-restore restore` (restore.md §4.3, §5, §6, §8). Bash does
# the rest (arguments, checksum, decryption, guards, prompts, safety backup, report). Every name is a byte string
# end to end; names reach the log only in their esc() form (security.md §1).
#   categories  the category table of §5.2: `ROW<TAB>name<TAB>on-/<TAB>covers`
#   scan        reads the whole stream once (every header and data block) into TABLE, one entry a line; prints
#               `CORRUPT<TAB>reason` or `CAT<TAB>category<TAB>non-directory entries` per category and `ENTRIES<TAB>n`
#   plan        decides per entry (create, replace, skip, refuse) against the disk; writes PLAN and the NUL-separated
#               list of what the safety backup must hold; prints LOG, SPACE, SAFETY, SKIPS, WRITES and HINTS records
#   write       reads the stream again and carries PLAN out: temp sibling, metadata, fsync, rename; directories'
#               metadata at the end, deepest first; prints LOG records, then `RESULT<TAB>files links dirs failed`
#               (`ABORT<TAB>reason<TAB>path` and exit 3 on ENOSPC/EDQUOT/EROFS/EIO; exit 4 when interrupted)
#   listing     reads the stream on stdin for `verify` (restore.md §10 steps 3-4) with this same reader and rules
#               (pax header over 1 MiB, 1 000 000 entries, type 7 as a regular file: all while reading); prints
#               `UNSAFE<TAB>esc(name)<TAB>reason` per unsafe entry, then `COUNTS<TAB>entries files symlinks hardlinks
#               dirs file_bytes files_included`, or `CORRUPT<TAB>reason` (exit 2)
# Records on stdout are `LOG<TAB>LEVEL<TAB>message`; the caller logs them. verify reads through `listing`, so
# verify and restore read one way and name the same entries unsafe or corrupt.
use strict;
use warnings;
use Errno qw(ENOSPC EDQUOT EROFS EIO);
use Fcntl qw(O_WRONLY O_CREAT O_EXCL O_NOFOLLOW S_ISDIR S_ISREG S_ISLNK);
use File::Basename qw(dirname);
use File::Spec;
use IO::Handle;
use POSIX ();
use Cwd qw(realpath);

require(File::Spec->rel2abs(dirname(__FILE__)) . '/bytes.pl');   # esc()

my $MAX_ENTRIES = 1_000_000;
my $MAX_PAX = 1024 * 1024;

# ---------------------------------------------------------------------------------------------------
# Categories (restore.md §5.2): name, on /, patterns. `P` = etc/pve, `B` = etc/proxmox-backup.

my @CATEGORIES = (
    ['(reports)', 'never', [qw(var/lib/proxmox-backup-info var/lib/pve-cluster/info var/lib/pve-cluster/small_backups
        var/lib/pve-cluster/selected_backups var/lib/proxmox-backup chunked_files), map { "etc/pve/$_" } qw(.version
        .members .vmlist .clusterlog .rrd .debug)]],
    ['pve-cluster', 'guarded', ['var/lib/pve-cluster']],
    ['corosync', 'guarded', ['etc/corosync', 'etc/pve/corosync.conf']],
    ['vm-configs', 'yes', ['etc/pve/nodes/*/qemu-server/*.conf', 'etc/pve/nodes/*/lxc/*.conf']],
    ['firewall', 'yes', ['etc/pve/firewall', 'etc/pve/nodes/*/host.fw']],
    ['storage', 'yes', ['etc/pve/storage.cfg', 'etc/pve/priv/storage', 'etc/vzdump.conf']],
    ['jobs', 'yes', [(map { "etc/pve/$_" } qw(jobs.cfg vzdump.cron replication.cfg)), 'etc/cron.d/vzdump',
        map { "etc/proxmox-backup/$_.cfg" } qw(sync verification prune tape-job)]],
    ['users-acl', 'yes', [(map { "etc/pve/$_" } qw(user.cfg domains.cfg priv/shadow.cfg priv/token.cfg priv/tfa.cfg)),
        map { "etc/proxmox-backup/$_" } qw(user.cfg acl.cfg domains.cfg token.cfg token.shadow shadow.json tfa.json)]],
    ['ceph', 'yes', ['etc/ceph', 'etc/pve/ceph.conf', 'etc/pve/priv/ceph*']],
    ['pve-config', 'yes', ['etc/pve']],
    ['pbs', 'yes', ['etc/proxmox-backup']],
    ['network', 'yes', [qw(etc/network etc/hosts etc/hostname etc/resolv.conf etc/systemd/network etc/udev/rules.d)]],
    ['storage-stack', 'guarded', [qw(etc/lvm etc/iscsi etc/multipath etc/multipath.conf etc/mdadm etc/crypttab etc/hostid
        var/lib/iscsi)]],
    ['ssh-keys', 'yes', [qw(etc/ssh root/.ssh home/*/.ssh)]],
    ['cron', 'yes', [qw(etc/crontab etc/cron.d etc/cron.hourly etc/cron.daily etc/cron.weekly etc/cron.monthly
        var/spool/cron)]],
    ['apt', 'yes', ['etc/apt']],
    ['accounts', 'guarded', [qw(etc/passwd etc/group etc/shadow etc/gshadow)]],
    ['system', 'yes', [qw(etc/fstab etc/timezone etc/systemd etc/logrotate.d etc/ssl etc/modprobe.d etc/modules
        etc/modules-load.d etc/kernel etc/default/grub etc/default/grub.d etc/sysctl.conf etc/sysctl.d usr/local)]],
    ['tool', 'no', ['script-repository']],
    ['custom-paths', 'yes', []],
);
my %COVERS_TEXT = ('pve-config' => 'the rest of etc/pve', 'pbs' => 'the rest of etc/proxmox-backup',
    'custom-paths' => 'every other non-directory');

# A glob component as a regex: *, ? and [...] never match '/'.
sub glob_re {
    my ($component) = @_;
    my $re = '';
    while ($component =~ /\G(?:(\*)|(\?)|(\[!?\]?[^\]]*\])|(.))/gcs) {
        if (defined $1) { $re .= '[^/]*'; }
        elsif (defined $2) { $re .= '[^/]'; }
        elsif (defined $3) { my $class = $3; $class =~ s/^\[!/[^/; $re .= $class; }
        else { $re .= quotemeta($4); }
    }
    return $re;
}

my @MATCHERS;   # [category, [[component count, regex]...]]
for my $row (@CATEGORIES) {
    my @patterns;
    for my $pattern (@{$row->[2]}) {
        my @c = split m{/}, $pattern;
        my $re = join('/', map { glob_re($_) } @c);
        push @patterns, [scalar(@c), qr/^$re$/s];
    }
    push @MATCHERS, [$row->[0], \@patterns];
}

# category_of NAME IS_DIR: the first row covering NAME (the pattern matches it or an ancestor); '-' for a
# structural directory, custom-paths for any other uncovered entry.
sub category_of {
    my ($name, $is_dir) = @_;
    my @parts = split m{/}, $name;
    for my $m (@MATCHERS) {
        for my $p (@{$m->[1]}) {
            next if @parts < $p->[0];
            return $m->[0] if join('/', @parts[0 .. $p->[0] - 1]) =~ $p->[1];
        }
    }
    return $is_dir ? '-' : 'custom-paths';
}

# The name as restore.md §5.1 normalises it: no leading ./, no //, no /./, no trailing /.
sub normalise {
    my ($n) = @_;
    $n =~ s{^(?:\./+)+}{};   # "./" and the slashes after it: ".//etc/passwd" is etc/passwd, never "/etc/passwd"
    1 while $n =~ s{/\./}{/};
    $n =~ s{//+}{/}g;
    $n =~ s{/+$}{} unless $n eq '/';
    $n = '' if $n eq '.';
    return $n;
}

# ---------------------------------------------------------------------------------------------------
# The tar reader: ustar, pax (x, g) and GNU long names (L, K); numbers octal or base-256.

sub corrupt { stop_writing("CORRUPT\t$_[0]\n", 2); }

sub read_exact {
    my ($n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $got = read(STDIN, $buf, $n - length($buf), length($buf));
        corrupt("read error: $!") unless defined $got;
        last if $got == 0;
    }
    return $buf;
}

sub number {
    my ($field) = @_;
    if (ord($field) & 0x80) {
        my $v = 0;
        $v = $v * 256 + ord($_) for split //, substr($field, 1);
        return $v;
    }
    $field =~ s/[\0 ]+$//;
    $field =~ s/^[ ]+//;
    return 0 if $field eq '';
    corrupt('bad number in a header') unless $field =~ /^[0-7]+$/;
    return oct($field);
}

# padded SIZE: the bytes an entry's data occupies (whole 512-byte blocks).
sub padded { my ($size) = @_; return $size + ((512 - $size % 512) % 512); }

sub read_data {
    my ($size) = @_;
    my $data = read_exact(padded($size));
    corrupt('unexpected end of archive') if length($data) < padded($size);
    return substr($data, 0, $size);
}

# copy_data SIZE SINK: stream an entry's data into SINK (a code ref taking a chunk; undef = discard).
sub copy_data {
    my ($size, $sink) = @_;
    my $left = padded($size);
    my $useful = $size;
    while ($left > 0) {
        my $want = $left > 1_048_576 ? 1_048_576 : $left;
        my $chunk = read_exact($want);
        corrupt('unexpected end of archive') if length($chunk) < $want;
        $left -= $want;
        if ($sink && $useful > 0) {
            $sink->($useful < length($chunk) ? substr($chunk, 0, $useful) : $chunk);
        }
        $useful -= length($chunk);
        $useful = 0 if $useful < 0;
    }
}

sub pax_records {
    my ($data) = @_;
    my %rec;
    while (length $data) {
        corrupt('bad pax header') unless $data =~ /^(\d+) /;
        my $len = $1;
        corrupt('bad pax header') if $len < length("$len ") + 2 || $len > length($data);
        my $record = substr($data, length("$len "), $len - length("$len ") - 1);
        corrupt('bad pax header') unless substr($data, $len - 1, 1) eq "\n" && $record =~ /^([^=]*)=(.*)$/s;
        $rec{$1} = $2;
        $data = substr($data, $len);
    }
    return \%rec;
}

# next_entry: the next entry's header as a hash (data not read), or undef at the end of the archive.
sub next_entry {
    my (%pending);
    while (1) {
        my $block = read_exact(512);
        return undef if length($block) == 0;
        corrupt('unexpected end of archive') if length($block) < 512;
        if ($block =~ /^\0+$/) { 1 while length(read_exact(65536)) > 0; return undef; }   # end: drain the rest
        my ($name, $mode, $uid, $gid, $size, $mtime, $sum, $type, $link, $magic, undef, undef, undef, undef, undef, $prefix)
            = unpack('a100 a8 a8 a8 a12 a12 a8 a1 a100 a6 a2 a32 a32 a8 a8 a155', $block);
        my $check = 0;
        $check += $_ for unpack('C*', substr($block, 0, 148) . (' ' x 8) . substr($block, 156));
        corrupt('bad header checksum') unless number($sum) == $check;
        $name =~ s/\0.*//s;
        $link =~ s/\0.*//s;
        $prefix =~ s/\0.*//s;
        $name = "$prefix/$name" if $magic =~ /^ustar/ && $prefix ne '';
        $type = '0' if $type eq "\0";
        my %e = (name => $name, link => $link, type => $type, mode => number($mode) & 07777, uid => number($uid),
            gid => number($gid), size => number($size), mtime => number($mtime));
        if ($type eq 'x' || $type eq 'g') {
            corrupt('pax header over 1 MiB') if $e{size} > $MAX_PAX;
            my $rec = pax_records(read_data($e{size}));
            %pending = (%pending, %$rec) if $type eq 'x';
            next;
        }
        if ($type eq 'L' || $type eq 'K') {
            corrupt('long name over 1 MiB') if $e{size} > $MAX_PAX;
            (my $long = read_data($e{size})) =~ s/\0.*//s;
            $pending{$type eq 'L' ? 'path' : 'linkpath'} = $long;
            next;
        }
        $e{name} = $pending{path} if exists $pending{path};
        $e{link} = $pending{linkpath} if exists $pending{linkpath};
        for my $k (qw(uid gid size)) { $e{$k} = $pending{$k} + 0 if exists $pending{$k} && $pending{$k} =~ /^\d+$/; }
        $e{mtime} = int($pending{mtime}) if exists $pending{mtime} && $pending{mtime} =~ /^-?\d+(?:\.\d+)?$/;
        $e{data} = ($type =~ /^[123456]$/) ? 0 : $e{size};
        return \%e;
    }
}

# ---------------------------------------------------------------------------------------------------
# The entry table: one line per entry, tab-separated, names hex-encoded.
# index type mode uid gid mtime size category name-hex link-hex norm-hex reason

my @FIELDS = qw(index type mode uid gid mtime size category name link norm reason);

sub table_line {
    my ($e) = @_;
    return join("\t", map { my $v = $e->{$_} // ''; /^(name|link|norm|reason)$/ ? unpack('H*', $v) : $v } @FIELDS) . "\n";
}

sub load_table {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "cannot read $file: $!\n";
    my @table;
    while (my $line = <$fh>) {
        chomp $line;
        my @v = split /\t/, $line, -1;
        my %e;
        @e{@FIELDS} = @v;
        $e{$_} = pack('H*', $e{$_}) for qw(name link norm reason);
        push @table, \%e;
    }
    return \@table;
}

# static_reason ENTRY SYMLINKS REGULAR: restore.md §8, what the entry table alone shows ('' when safe). ENTRY has
# name, norm, type (tar type flag) and link; SYMLINKS and REGULAR hold the earlier entries' normalised names.
sub static_reason {
    my ($e, $symlinks, $regular) = @_;
    my ($name, $type, $norm) = @$e{qw(name type norm)};
    return 'absolute path' if $name =~ m{^/};
    return 'parent directory reference' if grep { $_ eq '..' } split(m{/}, $name);
    return 'parent directory reference' if $type eq '1' && grep { $_ eq '..' } split(m{/}, $e->{link});
    my @parts = split m{/}, $norm;
    for my $i (1 .. $#parts) {
        return 'path goes through a symlink from the archive' if $symlinks->{join('/', @parts[0 .. $i - 1])};
    }
    return 'special file' if $type =~ /^[346]$/;
    return "unsupported entry type $type" if $type !~ /^[01257]$/;
    return 'hard link outside the archive' if $type eq '1' && !$regular->{normalise($e->{link})};
    return 'name too long' if length($name) > 4096 || grep { length($_) > 255 } split(m{/}, $name);
    return '';
}

sub cmd_scan {
    my ($out) = @_;
    binmode STDIN;
    open(my $fh, '>:raw', $out) or die "cannot write $out: $!\n";
    my (%symlinks, %regular, %count);
    my $index = 0;
    while (my $e = next_entry()) {
        corrupt('more than 1000000 entries') if $index >= $MAX_ENTRIES;
        copy_data($e->{data}, undef);
        $e->{index} = $index++;
        $e->{type} = '0' if $e->{type} eq '7';
        $e->{norm} = normalise($e->{name});
        $e->{category} = category_of($e->{norm}, $e->{type} eq '5');
        $e->{reason} = static_reason($e, \%symlinks, \%regular);
        $symlinks{$e->{norm}} = 1 if $e->{type} eq '2';
        $regular{$e->{norm}} = 1 if $e->{type} eq '0';
        $count{$e->{category}}++ if $e->{type} ne '5' && $e->{norm} ne '';
        print $fh table_line($e);
    }
    close($fh) or die "cannot write $out: $!\n";
    my @order = ((map { $_->[0] } @CATEGORIES[1 .. $#CATEGORIES]), '(reports)');
    print "CAT\t$_\t" . ($count{$_} // 0) . "\t" . on_root($_) . "\n" for @order;
    print "ENTRIES\t$index\n";
}

sub on_root { my ($c) = @_; for (@CATEGORIES) { return $_->[1] if $_->[0] eq $c; } return ''; }

sub cmd_categories {
    for my $row (@CATEGORIES[1 .. $#CATEGORIES], $CATEGORIES[0]) {
        print join("\t", 'ROW', $row->[0], $row->[1], $COVERS_TEXT{$row->[0]} // join(', ', @{$row->[2]})), "\n";
    }
}

# ---------------------------------------------------------------------------------------------------
# Plan (restore.md §5.6, §6.2, §7, §8). Settings from the environment:
#   RESTORE_ROOT (realpath), RESTORE_SELECTED (comma list), RESTORE_PVE_MODE (pmxcfs|blocked|plain),
#   RESTORE_AS_ROOT (true|false), RESTORE_DRY_RUN (true|false)

sub logrec { my ($level, $msg) = @_; print "LOG\t$level\t$msg\n"; }

sub target_of {
    my ($root, $norm) = @_;
    return $root eq '/' ? "/$norm" : "$root/$norm";
}

sub inside_root {
    my ($root, $path) = @_;
    return 1 if $root eq '/';
    return $path eq $root || index($path, "$root/") == 0;
}

# parent_state ROOT NORM: '' when every parent is a directory, missing, or a link resolving to a directory inside
# ROOT; else the refusal or failure reason ('escape' / 'notdir').
sub parent_state {
    my ($root, $norm, $cache) = @_;
    my @parts = split m{/}, $norm;
    my $cur = $root eq '/' ? '' : $root;
    for my $i (0 .. $#parts - 1) {
        my $path = "$cur/$parts[$i]";
        my $key = join('/', @parts[0 .. $i]);
        my $state = $cache->{$key};
        unless (defined $state) {
            my @st = lstat($path);
            if (!@st) { $state = 'missing'; }
            elsif (S_ISDIR($st[2])) { $state = 'dir'; }
            elsif (S_ISLNK($st[2])) {
                my $real = realpath($path);
                $state = (defined $real && -d $real && inside_root($root, $real)) ? 'dir' : 'escape';
            } else { $state = 'notdir'; }
            $cache->{$key} = $state;
        }
        return '' if $state eq 'missing';
        return $state unless $state eq 'dir';
        $cur = $path;
    }
    return '';
}

sub disk_kind {
    my ($path) = @_;
    my @st = lstat($path);
    return ('none') unless @st;
    return ('dir', @st) if S_ISDIR($st[2]);
    return ('file', @st) if S_ISREG($st[2]) || S_ISLNK($st[2]);
    return ('special', @st);
}

# Chunked upstream files (§6.4): marker NORM.chunked + chunked_files/NORM.NN.chunk.
sub chunk_groups {
    my ($table) = @_;
    my (%markers, %chunks);
    for my $e (@$table) {
        next unless $e->{type} eq '0' && $e->{reason} eq '';
        if ($e->{norm} =~ m{^chunked_files/(.+)\.(\d+)\.chunk$}s) { $chunks{$1}{$2 + 0} = $e; }
        elsif ($e->{norm} =~ /^(.+)\.chunked$/s) { $markers{$1} = $e; }
    }
    return (\%markers, \%chunks);
}

sub cmd_plan {
    my ($table_file, $plan_file, $safety_file) = @_;
    my $table = load_table($table_file);
    my $root = $ENV{RESTORE_ROOT};
    my %selected = map { $_ => 1 } split /,/, $ENV{RESTORE_SELECTED} // '';
    my $pve_mode = $ENV{RESTORE_PVE_MODE} // 'plain';
    my $dry = ($ENV{RESTORE_DRY_RUN} // '') eq 'true';
    my (%last, %plan, %blocked, @safety, %space, %safety_cats);
    my ($tamper, $refused, $not_selected, $reports, $other, $failed, $safety_bytes) = (0, 0, 0, 0, 0, 0, 0);
    $last{$_->{norm}} = $_->{index} for grep { $_->{norm} ne '' } @$table;
    my ($markers, $chunks) = chunk_groups($table);
    my %chunk_member;
    for my $rel (keys %$markers) { $chunk_member{$_->{index}} = $rel for values %{$chunks->{$rel} // {}}; }
    my %by_norm = map { $_->{norm} => $_ } grep { $_->{type} eq '0' } @$table;
    my $cache = {};
    for my $e (@$table) {
        my ($norm, $i, $cat) = ($e->{norm}, $e->{index}, $e->{category});
        next if $norm eq '';
        my $shown = esc($norm);
        if ($e->{reason} ne '') {
            logrec('WARNING', "Refused $shown: $e->{reason}");
            $refused++;
            $tamper = 1 if $e->{reason} =~ /^(absolute path|parent directory reference|path goes through)/;
            next;
        }
        next if $cat eq '-';
        my $rel = $chunk_member{$i};
        if (!defined $rel && $cat eq '(reports)') { $reports++; next; }
        my $marker_rel = ($e->{type} eq '0' && $norm =~ /^(.+)\.chunked$/s && $markers->{$1} && $markers->{$1}{index} == $i) ? $1 : undef;
        if (defined $rel || defined $marker_rel) {
            # chunks go with their marker, whose target is the rejoined file's
            $reports++ if defined $rel;
            next if defined $rel;
            $norm = $marker_rel;
            $shown = esc($norm);
            $cat = category_of($norm, 0);
        }
        unless ($selected{$cat}) { $not_selected++; next; }
        if ($last{$e->{norm}} != $i) {
            logrec('WARNING', "Duplicate entry $shown; the last one is used");
            $other++;
            next;
        }
        if ($norm =~ m{^etc/pve(?:/|$)} && $pve_mode eq 'blocked') {
            logrec('WARNING', "Skipped $cat: " . esc($root eq '/' ? '' : $root) . '/etc/pve is not a running pmxcfs; its content comes from config.db')
                unless $blocked{$cat}++;
            $other++;
            next;
        }
        if ($norm =~ m{^etc/pve/} && $pve_mode eq 'pmxcfs' && $e->{type} eq '2') {
            logrec('INFO', "Skipped $shown: pmxcfs manages this link");
            $other++;
            next;
        }
        my $action = plan_entry($e, $norm, $root, $cache, \%by_norm, \%plan, $chunks);
        if (!ref $action) { logrec('WARNING', $action) if $action ne ''; $refused++ if $action =~ /^Refused/;
            $tamper = 1 if $action =~ /escapes the target/; $other++ if $action =~ /^Skipped/;
            $failed++ if $action =~ /^Failed/; next; }
        $plan{$i} = $action;
        my $target = target_of($root, $norm);
        if ($action->{op} eq 'replace' || ($action->{op} eq 'dirmeta' && $action->{changes})) {
            push @safety, $norm;
            $safety_cats{$cat} = 1;
            $safety_bytes += $action->{old_size} // 0;
        }
        if ($action->{bytes}) { $space{space_dir($target)} += $action->{bytes}; }
        if ($dry) {
            my $what = $action->{op} eq 'create' ? ($e->{type} eq '5' ? 'create directory' : 'create')
                : $action->{op} eq 'replace' ? 'replace' : '';
            logrec('INFO', "Dry run: would $what " . esc($target)) if $what ne '';
        }
    }
    stale_sqlite_files($table, \%plan, $root, \@safety, \%safety_cats, \$safety_bytes);
    logrec('WARNING', 'This archive contains entries that point outside the target; it may have been tampered with') if $tamper;
    open(my $pf, '>:raw', $plan_file) or die "cannot write $plan_file: $!\n";
    for my $i (sort { $a <=> $b } keys %plan) {
        my $a = $plan{$i};
        print $pf join("\t", $i, $a->{op}, unpack('H*', $a->{norm}), $a->{source} // '', $a->{offset} // '', $a->{cat} // '') . "\n";
    }
    close($pf) or die "cannot write $plan_file: $!\n";
    open(my $sf, '>:raw', $safety_file) or die "cannot write $safety_file: $!\n";
    print $sf "./$_\0" for sort @safety;
    close($sf) or die "cannot write $safety_file: $!\n";
    print "SPACE\t$_\t$space{$_}\n" for sort keys %space;
    print "SAFETY\t" . scalar(@safety) . "\t$safety_bytes\t" . join(',', grep { $safety_cats{$_} } map { $_->[0] } @CATEGORIES) . "\n";
    print "SKIPS\t$not_selected\t$reports\t$other\t$refused\t$failed\n";
    print "WRITES\t" . scalar(grep { $_->{op} ne 'remove' } values %plan) . "\n";
    my %hints;
    for my $a (values %plan) {
        next if $a->{op} eq 'dirmeta' && !$a->{changes};
        $hints{pbs} = 1 if $a->{norm} =~ m{^etc/proxmox-backup(?:/|$)};
        $hints{systemd} = 1 if $a->{norm} =~ m{^etc/systemd(?:/|$)};
        $hints{network} = 1 if ($a->{cat} // '') eq 'network';
        $hints{cluster} = 1 if ($a->{cat} // '') =~ /^(pve-cluster|corosync)$/;
    }
    $hints{authkey} = 1 if grep { $_->{norm} eq 'etc/corosync/authkey' } @$table;
    print "HINTS\t" . join(',', sort keys %hints) . "\n";
}

# stale_sqlite_files: config.db restored → a config.db-wal/-shm on disk that the archive lacks is saved and removed.
sub stale_sqlite_files {
    my ($table, $plan, $root, $safety, $cats, $bytes) = @_;
    my %names = map { $_->{norm} => 1 } @$table;
    return unless grep { $table->[$_]{norm} eq 'var/lib/pve-cluster/config.db' && $plan->{$_}{op} =~ /^(create|replace)$/ } keys %$plan;
    my $n = scalar(@$table);
    for my $suffix ('-wal', '-shm') {
        my $norm = "var/lib/pve-cluster/config.db$suffix";
        next if $names{$norm};
        my $path = target_of($root, $norm);
        my @st = lstat($path);
        next unless @st && S_ISREG($st[2]);
        $plan->{$n++} = { op => 'remove', norm => $norm, cat => 'pve-cluster' };
        push @$safety, $norm;
        $cats->{'pve-cluster'} = 1;
        $$bytes += $st[7];
    }
}

# space_dir TARGET: the nearest existing ancestor directory (its filesystem receives the file).
sub space_dir {
    my ($path) = @_;
    my $dir = dirname($path);
    $dir = dirname($dir) while !-d $dir && $dir ne '/';
    return $dir;
}

# plan_entry: the action hash, or a log message (WARNING text; '' for a silent skip).
sub plan_entry {
    my ($e, $norm, $root, $cache, $by_norm, $plan, $chunks) = @_;
    my $shown = esc($norm);
    my $target = target_of($root, $norm);
    my $parent = parent_state($root, $norm, $cache);
    return "Refused $shown: escapes the target through a symlink" if $parent eq 'escape';
    return "Failed to restore $shown: Not a directory" if $parent eq 'notdir';
    my ($kind, @st) = disk_kind($target);
    my %a = (norm => $norm, cat => $e->{category});
    if ($e->{type} eq '5') {
        if ($kind eq 'none') { return { %a, op => 'create' }; }
        if ($kind eq 'dir') {
            my $changes = ($st[2] & 07777) != $e->{mode} || $st[9] != $e->{mtime}
                || (($ENV{RESTORE_AS_ROOT} // '') eq 'true' && ($st[4] != $e->{uid} || $st[5] != $e->{gid}));
            return { %a, op => 'dirmeta', changes => $changes ? 1 : 0 };
        }
        if (-l $target) {
            my $real = realpath($target);
            return { %a, op => 'dirmeta', changes => 0, keep => 1 } if defined $real && -d $real && inside_root($root, $real);
        }
        return "Skipped $shown: not a directory on disk";
    }
    return "Skipped $shown: a directory exists there" if $kind eq 'dir';
    return "Skipped $shown: special file on disk" if $kind eq 'special';
    my $op = $kind eq 'none' ? 'create' : 'replace';
    my %extra = (op => $op, old_size => ($kind eq 'file' && !-l $target) ? $st[7] : 0);
    if ($e->{type} eq '0' && $norm ne $e->{norm}) {   # a chunked file's marker
        my $rel = $norm;
        my $parts = $chunks->{$rel} // {};
        my @nums = sort { $a <=> $b } keys %$parts;
        for my $n (0 .. ($nums[-1] // -1)) {
            return "Skipped $shown: chunk $n missing" unless $parts->{$n};
        }
        my ($offset, @spec) = (0);
        for my $n (@nums) { push @spec, "$parts->{$n}{index}:$offset"; $offset += $parts->{$n}{size}; }
        return { %a, %extra, bytes => $offset, source => join(',', @spec), offset => scalar(@nums) };
    }
    if ($e->{type} eq '0') { return { %a, %extra, bytes => $e->{size} }; }
    if ($e->{type} eq '1') {
        my $src = $by_norm->{normalise($e->{link})};
        return "Skipped $shown: hard link to an entry that is not restored" unless $src && $plan->{$src->{index}}
            && $plan->{$src->{index}}{op} =~ /^(create|replace)$/;
        return { %a, %extra, bytes => $src->{size}, source => $src->{index} };
    }
    if ($e->{type} eq '2' && $e->{link} =~ m{^/tmp/proxmox-backup-[^/]+/(.+)$}s) {
        my $src = $by_norm->{normalise($1)};
        return "Refused $shown: link into an old temporary directory" unless $src && $src->{reason} eq '';
        return { %a, %extra, bytes => $src->{size}, source => $src->{index}, offset => 'dedup' };
    }
    return { %a, %extra };
}

# ---------------------------------------------------------------------------------------------------
# Write (restore.md §6)

my $FEED_ERROR = '';   # a feed that could not read its source (write_file turns it into the entry's failure)
my @TEMPS;        # temp files to remove when interrupted or aborted
my $PROGRESS = -t STDERR;

sub human {
    my ($b) = @_;
    return "$b B" if $b < 1024;
    my @u = qw(KiB MiB GiB TiB);
    my $i = -1;
    while ($b >= 1024 && $i < 3) { $b /= 1024; $i++; }
    return sprintf('%.1f %s', $b, $u[$i]);
}

my ($P_DONE, $P_TOTAL, $P_BYTES, $P_ALL, $P_LAST, $P_SHOWN) = (0, 0, 0, 0, 0, 0);

sub progress {
    return unless $PROGRESS;
    my $now = time();
    return if $now == $P_LAST && $P_DONE != $P_TOTAL;
    $P_LAST = $now;
    printf STDERR "\r\e[KRestoring %d/%d entries, %s of %s", $P_DONE, $P_TOTAL, human($P_BYTES), human($P_ALL);
    $P_SHOWN = 1;
}

sub progress_clear { if ($P_SHOWN) { print STDERR "\r\e[K"; $P_SHOWN = 0; } }

sub wlog { progress_clear(); logrec(@_); STDOUT->flush; }

my $ON_STOP = sub { };   # cmd_write's: directories' metadata and the RESULT record, before ABORT or INTERRUPTED

sub stop_writing {
    my ($record, $status) = @_;
    unlink $_ for @TEMPS;
    @TEMPS = ();
    $ON_STOP->();
    progress_clear();
    print $record;
    exit $status;
}

sub abort_or_warn {
    my ($err, $path) = @_;
    my $reason = "$err";
    my $code = do { no warnings 'numeric'; 0 + $err };   # $! keeps its errno; our own reasons are plain text
    if ($code == ENOSPC || $code == EDQUOT || $code == EROFS || $code == EIO) {
        stop_writing("ABORT\t$reason\t" . esc($path) . "\n", 3);
    }
    wlog('WARNING', 'Failed to restore ' . esc($path) . ": $reason");
    return 0;
}

# temp_of TARGET [SUFFIX]: the sibling an entry is written to before its rename. `.<name>.pbk-restore.<pid>` names
# what is being written; when that would pass the file-system's 255-byte name limit (a name close to it, which
# GNU tar restores fine), a short one, `.pbk-restore.<pid>.<n>`, always fits. O_EXCL keeps either from clobbering.
my $TEMP_SEQ = 0;
sub temp_of {
    my ($target, $suffix) = @_;
    $suffix //= '';
    my $dir = dirname($target);
    (my $base = $target) =~ s{.*/}{}s;
    my $name = ".$base.pbk-restore." . $$ . $suffix;
    if (do { use bytes; length $name } > 255) {
        $TEMP_SEQ += 1;
        $name = '.pbk-restore.' . $$ . ".$TEMP_SEQ$suffix";
    }
    return "$dir/$name";
}

# ensure_parents NORM: missing parents created 0700 (their final metadata comes at the end); '' or an error.
sub ensure_parents {
    my ($root, $norm, $created) = @_;
    my @parts = split m{/}, $norm;
    for my $i (0 .. $#parts - 1) {
        my $rel = join('/', @parts[0 .. $i]);
        my $path = target_of($root, $rel);
        next if -d $path;
        unless (mkdir($path, 0700)) { return $! + 0 ? $! : 'cannot create directory'; }
        chmod 0700, $path;
        $created->{$rel} = 1;
    }
    return '';
}

# in_pmxcfs NORM: NORM is written through a running pmxcfs (§5.6), which owns modes and owners; mtime best effort.
sub in_pmxcfs {
    my ($norm) = @_;
    return ($ENV{RESTORE_PVE_MODE} // '') eq 'pmxcfs' && $norm =~ m{^etc/pve(?:/|$)};
}

# write_file TARGET ENTRY FEED: FEED is called once with a writer (a code ref taking a chunk), or with undef when
# nothing can be written (it must still consume the entry's data). '' or the error.
sub write_file {
    my ($target, $e, $feed, $as_root) = @_;
    my $pmx = in_pmxcfs($e->{shown});
    my $tmp = temp_of($target);
    my $fh;
    unless (sysopen($fh, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)) { my $err = $!; $feed->(undef); return $err; }
    binmode $fh;
    push @TEMPS, $tmp;
    my $err;
    $FEED_ERROR = '';
    $feed->(sub { my ($chunk) = @_; return if $err;
        my $off = 0;
        while (!$err && $off < length $chunk) { my $n = syswrite($fh, $chunk, length($chunk) - $off, $off); if (!defined $n) { $err = $!; last; } $off += $n; }
    });
    $err ||= $FEED_ERROR;
    my $mode = $e->{mode} & 07777;
    if (!$err && !$pmx && ($mode & 06000)) {
        wlog('WARNING', 'Cleared setuid/setgid on ' . esc($e->{shown}) . sprintf(' (mode %04o)', $mode));
        $mode &= ~06000;
    }
    if (!$err && $as_root && !$pmx) { chown($e->{uid}, $e->{gid}, $fh) or $err = $!; }
    if (!$err && !$pmx) { chmod($mode, $fh) or $err = $!; }
    if (!$err) { $fh->sync or $err = $!; }
    if (!$err) { close($fh) or $err = $!; } else { close($fh); }
    if (!$err) { utime($e->{mtime}, $e->{mtime}, $tmp) or $pmx or $err = $!; }
    if (!$err) { rename($tmp, $target) or $err = $!; }
    if ($err) { my $saved = $err; unlink $tmp; pop @TEMPS; return $saved; }
    pop @TEMPS;
    return '';
}

sub write_symlink {
    my ($target, $e, $as_root) = @_;
    my $tmp = temp_of($target);
    symlink($e->{link}, $tmp) or return $!;
    push @TEMPS, $tmp;
    my $err = '';
    if ($as_root && !POSIX::lchown($e->{uid}, $e->{gid}, $tmp)) { $err = $!; }
    if (!$err && system('touch', '-h', '-d', "\@$e->{mtime}", '--', $tmp) != 0) { $err = 'cannot set the link time'; }
    if (!$err) { rename($tmp, $target) or $err = $!; }
    if ($err) { my $saved = $err; unlink $tmp; pop @TEMPS; return $saved; }
    pop @TEMPS;
    return '';
}

sub load_plan {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "cannot read $file: $!\n";
    my %plan;
    while (my $line = <$fh>) {
        chomp $line;
        my @v = split /\t/, $line, -1;
        $plan{$v[0]} = { op => $v[1], norm => pack('H*', $v[2]), source => $v[3], offset => $v[4], cat => $v[5] };
    }
    return \%plan;
}

sub cmd_write {
    my ($table_file, $plan_file) = @_;
    binmode STDIN;
    my $table = load_table($table_file);
    my $plan = load_plan($plan_file);
    my $root = $ENV{RESTORE_ROOT};
    my $as_root = ($ENV{RESTORE_AS_ROOT} // '') eq 'true';
    my %by_index = map { $_->{index} => $_ } @$table;
    my (%dirs_meta, %created, %chunk_target, %dedup_cache, @deferred, %chunk_files);
    my %n = (files => 0, links => 0, failed => 0);
    for my $i (keys %$plan) {
        my $a = $plan->{$i};
        if (($a->{offset} // '') eq 'dedup') { $dedup_cache{$a->{source}} = ''; push @deferred, $i; }
        elsif (($a->{source} // '') =~ /:/) {
            for (split /,/, $a->{source}) { my ($ci, $off) = split /:/; $chunk_target{$ci} = [$i, $off]; }
        }
    }
    $P_TOTAL = scalar(keys %$plan);
    $P_ALL += ($by_index{$_} // {})->{size} // 0 for keys %$plan;
    my $stopped = 0;
    $ON_STOP = sub {
        return if $stopped++;
        my $dirs = eval { finish_dirs($root, \%dirs_meta, \%created, $table, $as_root) } // 0;
        print "RESULT\t$n{files}\t$n{links}\t$dirs\t$n{failed}\n";
    };
    local $SIG{INT} = local $SIG{TERM} = sub { stop_writing("INTERRUPTED\n", 4); };
    my $index = 0;
    while (my $h = next_entry()) {
        my $e = $by_index{$index};
        $h->{type} = '0' if $h->{type} eq '7';
        if (!$e || $e->{name} ne $h->{name} || $e->{type} ne $h->{type} || $e->{size} != $h->{size}) {
            stop_writing("CHANGED\n", 3);
        }
        my $i = $index++;
        my @sinks;
        push @sinks, sub { $dedup_cache{$i} .= $_[0] } if exists $dedup_cache{$i};
        if (my $ct = $chunk_target{$i}) {
            my ($mi, $off) = @$ct;
            my $state = $chunk_files{$mi} //= chunk_open($root, $plan->{$mi}{norm}, \%created);
            push @sinks, sub { chunk_write($state, $_[0], $off); $off += length $_[0]; } if ref $state;
        }
        my $consume = sub { my ($w) = @_; my @all = (@sinks, $w ? ($w) : ());
            copy_data($h->{data}, @all ? sub { my ($c) = @_; $_->($c) for @all; } : undef); };
        my $a = $plan->{$i};
        if (!$a || $a->{op} !~ /^(create|replace|dirmeta)$/ || ($a->{source} // '') =~ /:/ || ($a->{offset} // '') eq 'dedup') {
            $consume->(undef);
            next;
        }
        $e->{shown} = $a->{norm};
        my $target = target_of($root, $a->{norm});
        # a directory entry: itself and its parents ("<dir>/x" has them all as parents)
        my $err = ensure_parents($root, $e->{type} eq '5' ? "$a->{norm}/x" : $a->{norm}, \%created);
        if ($err) { $consume->(undef); }
        elsif ($e->{type} eq '5') { $consume->(undef); $dirs_meta{$a->{norm}} = $e; }
        elsif ($e->{type} eq '2') { $consume->(undef); $err = write_symlink($target, $e, $as_root); }
        elsif ($e->{type} eq '1') {
            $consume->(undef);
            my $from = target_of($root, $plan->{$a->{source}}{norm});
            $err = write_file($target, $e, sub { feed_from_file($from, @_) }, $as_root);
        } else { $err = write_file($target, $e, $consume, $as_root); }
        $P_DONE++;
        $P_BYTES += $e->{size} if $e->{type} eq '0';
        progress();
        if ($err) { abort_or_warn($err, $target); $n{failed}++; next; }
        next if $e->{type} eq '5';
        $n{$e->{type} eq '2' ? 'links' : 'files'}++;
        wlog('DEBUG', ($a->{op} eq 'create' ? 'Created ' : 'Replaced ') . esc($target));
    }
    corrupt('the archive ends early') if $index != scalar(@$table);
    for my $mi (sort { $a <=> $b } keys %chunk_files) {
        my $state = $chunk_files{$mi};
        my $m = $plan->{$mi};
        if (!ref $state) { abort_or_warn($state, target_of($root, $m->{norm})); $n{failed}++; next; }
        close($state->{fh});
        finish_extra($root, $m, { %{$by_index{$mi}}, shown => $m->{norm} }, $state->{err} || undef,
            sub { feed_from_file($state->{tmp}, @_) }, 'Rejoined ' . esc($m->{norm}) . " from $m->{offset} chunks", \%n, \%created, $as_root);
        unlink $state->{tmp};
    }
    for my $i (sort { $a <=> $b } @deferred) {
        my $a = $plan->{$i};
        my $content = $dedup_cache{$a->{source}};
        finish_extra($root, $a, { %{$by_index{$a->{source}}}, shown => $a->{norm} }, undef,
            sub { my ($w) = @_; $w->($content) if $w; }, 'Resolved deduplicated link ' . esc($a->{norm}), \%n, \%created, $as_root);
    }
    for my $i (sort { $a <=> $b } grep { $plan->{$_}{op} eq 'remove' } keys %$plan) {
        my $target = target_of($root, $plan->{$i}{norm});
        if (unlink $target) { wlog('INFO', 'Removed stale ' . esc($target)); } else { abort_or_warn($!, $target); $n{failed}++; }
    }
    $ON_STOP->();
    progress_clear();
}

# finish_extra: a file written after the pass (a rejoined chunked file, a resolved dedup link).
sub finish_extra {
    my ($root, $a, $e, $err, $feed, $info, $n, $created, $as_root) = @_;
    my $target = target_of($root, $a->{norm});
    $err ||= ensure_parents($root, $a->{norm}, $created) || write_file($target, $e, $feed, $as_root);
    if ($err) { abort_or_warn($err, $target); $n->{failed}++; return; }
    $n->{files}++;
    wlog('INFO', $info);
    wlog('DEBUG', ($a->{op} eq 'create' ? 'Created ' : 'Replaced ') . esc($target));
}

sub feed_from_file {
    my ($from, $w) = @_;
    return unless $w;
    open(my $in, '<:raw', $from) or do { $FEED_ERROR = "$!"; return; };
    while (read($in, my $buf, 1_048_576)) { $w->($buf); }
}

sub chunk_open {
    my ($root, $norm, $created) = @_;
    my $target = target_of($root, $norm);
    my $err = ensure_parents($root, $norm, $created);
    return $err if $err;
    my $tmp = temp_of($target, '.chunks');
    sysopen(my $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) or return $!;
    push @TEMPS, $tmp;
    return { fh => $fh, tmp => $tmp, err => '' };
}

sub chunk_write {
    my ($state, $chunk, $offset) = @_;
    return if $state->{err};
    sysseek($state->{fh}, $offset, 0) or do { $state->{err} = $!; return; };
    defined(syswrite($state->{fh}, $chunk)) or $state->{err} = $!;
}

# finish_dirs: final mode, owner and mtime, deepest first, for directories of a selected category and for
# parents this run created (their archive entry's metadata, else 0755 and the running user). Returns the count
# of non-structural directories set.
sub finish_dirs {
    my ($root, $meta, $created, $table, $as_root) = @_;
    my %entry_of = map { $_->{norm} => $_ } grep { $_->{type} eq '5' } @$table;
    my %todo = (%$meta);
    for my $rel (keys %$created) { $todo{$rel} //= $entry_of{$rel} // { mode => 0755, mtime => undef, category => '-' }; }
    my $count = 0;
    for my $rel (sort { ($b =~ tr{/}{}) <=> ($a =~ tr{/}{}) || $b cmp $a } keys %todo) {
        my $e = $todo{$rel};
        my $path = target_of($root, $rel);
        next if -l $path;
        if (in_pmxcfs($rel)) { utime($e->{mtime}, $e->{mtime}, $path) if defined $e->{mtime}; }   # best effort
        else {
            my $ok = 1;
            if ($as_root && defined $e->{uid}) { $ok &&= chown($e->{uid}, $e->{gid}, $path); }
            $ok &&= chmod($e->{mode} & 07777, $path);
            $ok &&= utime($e->{mtime}, $e->{mtime}, $path) if defined $e->{mtime};
            if (!$ok) { abort_or_warn($!, $path); next; }
        }
        $count++ if ($e->{category} // '-') ne '-' && ($meta->{$rel} || $created->{$rel});
        wlog('DEBUG', 'Created ' . esc($path)) if $created->{$rel};
    }
    return $count;
}

# listing: verify's pass (see the header); files_included = files + symlinks + hard links not ending in .sha256.
sub cmd_listing {
    binmode STDIN;
    my (%symlinks, %regular);
    my ($entries, $files, $links, $hard, $dirs, $bytes, $included) = (0, 0, 0, 0, 0, 0, 0);
    while (my $e = next_entry()) {
        corrupt('more than 1000000 entries') if $entries >= $MAX_ENTRIES;
        copy_data($e->{data}, undef);
        $entries++;
        $e->{type} = '0' if $e->{type} eq '7';
        $e->{norm} = normalise($e->{name});
        my $reason = static_reason($e, \%symlinks, \%regular);
        print "UNSAFE\t" . esc($e->{name}) . "\t$reason\n" if $reason ne '';
        my ($type, $counted) = ($e->{type}, $e->{norm} !~ /\.sha256$/);
        if ($type eq '0') { $files++; $bytes += $e->{size}; $regular{$e->{norm}} = 1; $included++ if $counted; }
        elsif ($type eq '2') { $links++; $symlinks{$e->{norm}} = 1; $included++ if $counted; }
        elsif ($type eq '1') { $hard++; $included++ if $counted; }
        elsif ($type eq '5') { $dirs++; }
    }
    print "COUNTS\t$entries $files $links $hard $dirs $bytes $included\n";
}

unless (caller) {
    my $mode = shift @ARGV // '';
    if ($mode eq 'categories') { cmd_categories(); }
    elsif ($mode eq 'listing') { cmd_listing(); }
    elsif ($mode eq 'scan') { cmd_scan(@ARGV); }
    elsif ($mode eq 'plan') { cmd_plan(@ARGV); }
    elsif ($mode eq 'write') { cmd_write(@ARGV); }
    else { print STDERR "usage: restore.pl categories|listing|scan|plan|write ...\n"; exit 2; }
}
1;
