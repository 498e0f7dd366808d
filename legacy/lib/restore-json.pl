#!/usr/bin/perl
# Usage: restore-json.pl list < ROWS          |   restore-json.pl lsjson < RCLONE_LSJSON
# Summary: the JSON of the legacy restore tool (restore.md §2), byte for byte what JSON.stringify(v, null, 2)
# writes on the native side.
#   list:   stdin holds `A<TAB>tier<TAB>name<TAB>location<TAB>timestamp<TAB>type<TAB>host<TAB>compression<TAB>
#           encrypted<TAB>size_bytes<TAB>sha256<TAB>metadata` and `E<TAB>tier<TAB>message` lines; prints the object.
#   lsjson: rclone lsjson output → `<size><TAB><sha256 or -><TAB><name>` per file (names with a tab or newline
#           are skipped: they cannot be an archive of this tool).
use strict;
use warnings;
use JSON::PP;

my $json = JSON::PP->new->allow_nonref;

sub str { return $json->encode($_[0] // ''); }

sub object {
    my ($indent, @pairs) = @_;
    my @out;
    while (@pairs) {
        my ($key, $value) = splice(@pairs, 0, 2);
        push @out, "$indent  " . str($key) . ": $value";
    }
    return "{\n" . join(",\n", @out) . "\n$indent}";
}

sub array {
    my ($indent, @items) = @_;
    return '[]' unless @items;
    return "[\n" . join(",\n", map { "$indent  $_" } @items) . "\n$indent]";
}

my $mode = shift // '';
if ($mode eq 'list') {
    my (@archives, @errors);
    while (my $line = <STDIN>) {
        chomp $line;
        my @f = split /\t/, $line, -1;
        if ($f[0] eq 'A') {
            my (undef, $tier, $name, $location, $ts, $type, $host, $compression, $enc, $size, $sha, $meta) = @f;
            push @archives, object('    ', tier => str($tier), name => str($name), location => str($location),
                timestamp => str($ts), type => str($type), host => str($host), compression => str($compression),
                encrypted => ($enc eq 'true' ? 'true' : 'false'), size_bytes => (0 + $size), sha256 => str($sha),
                metadata => ($meta eq 'true' ? 'true' : 'false'));
        } elsif ($f[0] eq 'E') {
            push @errors, object('    ', tier => str($f[1]), message => str($f[2]));
        }
    }
    print object('', archives => array('  ', @archives), errors => array('  ', @errors)), "\n";
} elsif ($mode eq 'lsjson') {
    local $/;
    my $data = eval { $json->decode(<STDIN> // '') };
    exit 1 unless ref($data) eq 'ARRAY';
    for my $item (@$data) {
        next unless ref($item) eq 'HASH' && defined $item->{Name} && $item->{Name} !~ /[\t\n]/;
        my $sha = ref($item->{Hashes}) eq 'HASH' ? ($item->{Hashes}{sha256} // '-') : '-';
        print join("\t", $item->{Size} // 0, $sha eq '' ? '-' : $sha, $item->{Name}), "\n";
    }
} else {
    print STDERR "usage: restore-json.pl list|lsjson\n";
    exit 64;
}
