#!/usr/bin/perl
# Usage: tar -tv --numeric-owner --full-time --quoting-style=c -P -f - | tar-listing.pl
# Summary: reads GNU tar's verbose listing (names C-quoted, so any byte is unambiguous) and prints the entry
# table's counts and the static hostile-entry findings of restore.md §8 / §10 step 4, one per line:
#   UNSAFE<TAB><esc(name)><TAB><reason>
#   TOO_MANY                       (more than 1 000 000 entries: the rest is not read)
#   BAD<TAB><esc(line)>            (a line this parser does not understand: the archive is corrupt)
#   COUNTS<TAB>entries files symlinks hardlinks dirs file_bytes files_included
# files_included = files + symlinks + hard links whose names do not end in .sha256 (archive.md §7).
use strict;
use warnings;

my $MAX_ENTRIES = 1_000_000;
my %C_ESCAPE = (a => "\a", b => "\b", f => "\f", n => "\n", r => "\r", t => "\t", v => "\x0b", '\\' => '\\', '"' => '"', '?' => '?');

# normalise(), the §8 checks (static_reason) and esc() are restore.pl's, so verify and restore agree.
use File::Basename qw(dirname);
use File::Spec;
require(File::Spec->rel2abs(dirname(__FILE__)) . '/restore.pl');

# GNU tar's type letter → the tar type flag restore.pl's checks take.
my %TYPE_FLAG = ('-' => '0', 'h' => '1', 'l' => '2', 'c' => '3', 'b' => '4', 'd' => '5', 'p' => '6');

# A C-quoted name back to its bytes.
sub unquote {
    my ($q) = @_;
    $q =~ s/\\([0-7]{3}|.)/length($1) == 3 ? chr(oct($1)) : ($C_ESCAPE{$1} \/\/ $1)/ge;
    return $q;
}

my ($entries, $files, $links, $hard, $dirs, $bytes, $included) = (0, 0, 0, 0, 0, 0, 0);
my (%symlink, %regular);
my $Q = qr/"((?:[^"\\]|\\.)*)"/;
while (my $line = <STDIN>) {
    chomp $line;
    if ($entries >= $MAX_ENTRIES) { print "TOO_MANY\n"; last; }
    unless ($line =~ /^(.)\S{9}\s+\d+\/\d+\s+(\d+|\d+,\s*\d+)\s+\S+\s+\S+\s+$Q(?:\s+->\s+$Q|\s+link to\s+$Q)?$/) {
        print "BAD\t" . esc($line) . "\n";
        next;
    }
    my ($type, $size, $name, $target) = ($1, $2, unquote($3), defined($4) ? unquote($4) : defined($5) ? unquote($5) : undef);
    $entries++;
    my $norm = normalise($name);
    my %entry = (name => $name, norm => $norm, type => $TYPE_FLAG{$type} // $type, link => $target // '');
    my $reason = static_reason(\%entry, \%symlink, \%regular);
    print "UNSAFE\t" . esc($name) . "\t$reason\n" if $reason ne '';
    my $counted = $norm !~ /\.sha256$/;
    if ($type eq '-') { $files++; $bytes += $size; $regular{$norm} = 1; $included++ if $counted; }
    elsif ($type eq 'l') { $links++; $symlink{$norm} = 1; $included++ if $counted; }
    elsif ($type eq 'h') { $hard++; $included++ if $counted; }
    elsif ($type eq 'd') { $dirs++; }
}
print "COUNTS\t$entries $files $links $hard $dirs $bytes $included\n";
