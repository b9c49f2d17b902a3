//! How one person's name meets itself across the lists that write it: in Ukrainian Cyrillic, in
//! the Russian forms of the same names (Олександр / Александр, Олексійович / Алексеевич), and in
//! Latin by different systems (Oleksandr / Aleksandr / Alexander, Hrytsenko / Gritsenko).
//! Three tools, each kept as data or a published algorithm: the Latin forms of a word by
//! KMU-55 (`translit`) and the Russian systems (`ru_latin`); the Ukrainian ↔ Russian table of
//! given names (`equivalents.tsv`), which also joins patronymics through the name they are
//! formed from; and the Daitch–Mokotoff soundex, designed for Slavic and Yiddish surnames
//! spelled in many ways, as the phonetic key.

pub mod ru_latin;

use std::{collections::HashMap, sync::LazyLock};

use rphonetic::{DaitchMokotoffSoundex, DaitchMokotoffSoundexBuilder};

use super::translit;

/// Folds a word for comparison in its own script: lower case, ё → е, apostrophes dropped.
pub fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| !matches!(c, '\'' | '’' | 'ʼ' | '`' | '‘' | 'ʹ'))
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

fn is_cyrillic(word: &str) -> bool {
    word.chars().any(|c| matches!(c, '\u{0400}'..='\u{04FF}'))
}

fn ascii_letters(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The lower-case ASCII Latin forms of one word: a Cyrillic word by KMU-55 and the four
/// Russian systems (with the popular form's Western variants); a Latin word as written.
pub fn latin_forms(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    if is_cyrillic(word) {
        add(ascii_letters(&translit::to_latin(word)));
        for system in ru_latin::System::ALL {
            let latin = ascii_letters(&ru_latin::to_latin(word, system));
            if system == ru_latin::System::Popular {
                for extra in ru_latin::popular_extra(&latin) {
                    add(extra);
                }
            }
            add(latin);
        }
    } else {
        let latin = ascii_letters(word);
        for extra in ru_latin::popular_extra(&latin) {
            add(extra);
        }
        add(latin);
    }
    out
}

static SOUNDEX: LazyLock<Option<DaitchMokotoffSoundex>> =
    LazyLock::new(|| DaitchMokotoffSoundexBuilder::default().build().ok());

/// Most codes a word contributes: Daitch–Mokotoff branches on ambiguous letters (ch, ck, j, rz)
/// and a word's Latin forms add more; beyond this few the keys stop discriminating.
const MAX_CODES: usize = 6;

/// The Daitch–Mokotoff codes of a word (of each of its Latin forms), at most [`MAX_CODES`].
pub fn phonetic_codes(word: &str) -> Vec<String> {
    let Some(dm) = SOUNDEX.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    // The KMU form first: for a Cyrillic word its codes are the ones kept when there are many.
    for form in latin_forms(word) {
        for code in dm.inner_soundex(&form, true) {
            if out.len() < MAX_CODES && !out.contains(&code) {
                out.push(code);
            }
        }
    }
    out
}

/// The Daitch–Mokotoff codes a surname is blocked by: those of its Latin forms with the
/// adjectival ending folded (Дем'янецька and Демьянецкая meet), at most [`MAX_CODES`].
pub fn family_codes(word: &str) -> Vec<String> {
    let Some(dm) = SOUNDEX.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for form in latin_forms(word) {
        for code in dm.inner_soundex(&fold_adjectival(&form), true) {
            if out.len() < MAX_CODES && !out.contains(&code) {
                out.push(code);
            }
        }
    }
    out
}

/// One name of the equivalents table.
struct Entry {
    group: u32,
}

/// Every form of every name of the table (folded Cyrillic and the Latin forms) → its group:
/// names joined by a row, directly or through another row, share a group.
static GROUPS: LazyLock<(HashMap<String, Entry>, Vec<String>)> = LazyLock::new(build_groups);

fn build_groups() -> (HashMap<String, Entry>, Vec<String>) {
    let rows: Vec<(String, String)> = include_str!("equivalents.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut it = l.split('\t');
            Some((fold(it.next()?), fold(it.next()?)))
        })
        .collect();
    // Union–find over the folded Cyrillic names.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut parent: Vec<usize> = Vec::new();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut id = |name: &str, parent: &mut Vec<usize>| {
        *index.entry(name.to_owned()).or_insert_with(|| {
            parent.push(parent.len());
            parent.len() - 1
        })
    };
    let mut names: Vec<String> = Vec::new();
    for (ua, ru) in &rows {
        let (a, b) = (id(ua, &mut parent), id(ru, &mut parent));
        for (n, i) in [(ua, a), (ru, b)] {
            if i == names.len() {
                names.push(n.clone());
            }
        }
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[rb] = ra;
        }
    }
    let mut map: HashMap<String, Entry> = HashMap::new();
    // The group's representative is its first name (a Ukrainian form, the table's order).
    let mut representative: Vec<String> = Vec::new();
    let mut group_of_root: HashMap<usize, u32> = HashMap::new();
    for (i, name) in names.iter().enumerate() {
        let r = root(&mut parent, i);
        let group = *group_of_root.entry(r).or_insert_with(|| {
            representative.push(names[r].clone());
            (representative.len() - 1) as u32
        });
        map.entry(name.clone()).or_insert(Entry { group });
        for form in latin_forms(name) {
            map.entry(form).or_insert(Entry { group });
        }
    }
    (map, representative)
}

/// The equivalents group of a given name written in any script, if the table knows it.
pub fn group_of(name: &str) -> Option<u32> {
    let map = &GROUPS.0;
    if let Some(e) = map.get(&fold(name)) {
        return Some(e.group);
    }
    if is_cyrillic(name) {
        return None;
    }
    map.get(&ascii_letters(name)).map(|e| e.group)
}

/// Whether two given names are the one name in Ukrainian and Russian, per the table.
pub fn are_equivalents(a: &str, b: &str) -> bool {
    matches!((group_of(a), group_of(b)), (Some(x), Some(y)) if x == y)
}

/// The phonetic codes a given name is blocked by: its group representative's when the table
/// knows it (Микола and Nikolai meet), else its own.
pub fn given_codes(name: &str) -> Vec<String> {
    match group_of(name).and_then(|g| GROUPS.1.get(g as usize)) {
        Some(rep) => phonetic_codes(rep),
        None => phonetic_codes(name),
    }
}

/// The names a Ukrainian or Russian patronymic may be formed from, folded Cyrillic (several
/// when the suffix is ambiguous; only those the table knows matter): Олексійович → олексій,
/// Алексеевич → алексей, Миколаївна → микола, Петрович → петро, петр. Empty for a word that
/// is not a patronymic.
pub fn patronymic_bases(patronymic: &str) -> Vec<String> {
    let p = fold(patronymic.trim());
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if s.chars().count() >= 2 && !out.contains(&s) && out.len() < 6 {
            out.push(s);
        }
    };
    // (suffix, what replaces it) — Ukrainian then Russian forms, longest suffixes first.
    const RULES: &[(&str, &[&str])] = &[
        ("ійович", &["ій"]),
        ("ійівна", &["ій"]),
        ("ївна", &["й", ""]),
        ("йович", &["й", ""]),
        ("ьович", &["ь"]),
        ("ович", &["о", "", "а"]),
        ("івна", &["о", "", "а"]),
        ("ьевич", &["ий", "ь"]),
        ("ьевна", &["ий", "ь"]),
        ("еевич", &["ей"]),
        ("еевна", &["ей"]),
        ("аевич", &["ай"]),
        ("аевна", &["ай"]),
        ("иевич", &["ий"]),
        ("иевна", &["ий"]),
        ("евич", &["ь", "й", ""]),
        ("евна", &["ь", "й", ""]),
        ("овна", &["", "о"]),
        ("инична", &["а"]),
        ("ична", &["а"]),
        ("ич", &["а", "я"]),
    ];
    // The same in Latin, as KMU-55 and the Russian systems write the suffixes (a Latin
    // patronymic is folded to ASCII letters first: Evgen`evich → evgenevich).
    const LATIN_RULES: &[(&str, &[&str])] = &[
        ("iiovych", &["ii", "iy", "i"]),
        ("iyovych", &["iy", "ii", "i"]),
        ("iivna", &["ii", "iy", "i", "y", ""]),
        ("yovych", &["y", "i", "", "a"]),
        ("iovych", &["i", "y", "", "a"]),
        ("ovych", &["o", "", "a"]),
        ("ivna", &["o", "", "a"]),
        ("yevich", &["iy", "y", "ii", "i"]),
        ("yevna", &["iy", "y", "ii", "i"]),
        ("eevich", &["ei", "ey", "ej"]),
        ("eevna", &["ei", "ey", "ej"]),
        ("aevich", &["ai", "ay", "aj"]),
        ("aevna", &["ai", "ay", "aj"]),
        ("ievich", &["ii", "iy", "ij"]),
        ("ievna", &["ii", "iy", "ij"]),
        ("evich", &["ii", "iy", "ij", "y", "i", "j", ""]),
        ("evna", &["ii", "iy", "ij", "y", "i", "j", ""]),
        ("ovich", &["", "o"]),
        ("ovna", &["", "o"]),
    ];
    let (p, rules) = if is_cyrillic(&p) {
        (p, RULES)
    } else {
        (ascii_letters(&p), LATIN_RULES)
    };
    for (suffix, endings) in rules {
        if let Some(stem) = p.strip_suffix(suffix) {
            for end in *endings {
                add(format!("{stem}{end}"));
            }
            break;
        }
    }
    out
}

/// A Latin surname with its adjectival ending in one form: Ukrainian -ська / -ський and
/// Russian -ская / -ский (and -цька / -цкая) differ by more than transliteration (Vynetska,
/// Vinetskaia), though they are one name.
pub fn fold_adjectival(latin: &str) -> String {
    const ENDINGS: &[(&str, &str)] = &[
        ("kaia", "ka"),
        ("kaya", "ka"),
        ("kaja", "ka"),
        ("kyi", "ky"),
        ("kii", "ky"),
        ("kiy", "ky"),
        ("kij", "ky"),
        ("kyy", "ky"),
    ];
    for (end, to) in ENDINGS {
        if let Some(stem) = latin.strip_suffix(end)
            && (stem.ends_with('s') || stem.ends_with('c'))
        {
            return format!("{stem}{to}");
        }
    }
    latin.to_owned()
}

/// The equivalents groups a patronymic's base names belong to.
pub fn patronymic_groups(patronymic: &str) -> Vec<u32> {
    let mut out: Vec<u32> = patronymic_bases(patronymic)
        .iter()
        .filter_map(|b| group_of(b))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_has_both_sexes() {
        let mut m = 0;
        let mut f = 0;
        for line in include_str!("equivalents.tsv").lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "{line:?}");
            assert!(cols[..2].iter().all(|c| is_cyrillic(c)), "{line:?}");
            match cols[2] {
                "M" => m += 1,
                "F" => f += 1,
                other => panic!("sex {other:?} in {line:?}"),
            }
        }
        assert!(m >= 100 && f >= 60, "{m} male, {f} female rows");
    }

    #[test]
    fn ukrainian_and_russian_forms_are_equivalents_and_others_are_not() {
        for (ua, ru) in [
            ("Олександр", "Александр"),
            ("Микола", "Николай"),
            ("Сергій", "Сергей"),
            ("Андрій", "Андрей"),
            ("Олексій", "Алексей"),
            ("Федір", "Фёдор"),
            ("Наталя", "Наталия"),
            ("Mykola", "Nikolay"),
            ("Oleksandr", "Alexander"),
            ("Serhii", "Sergei"),
        ] {
            assert!(are_equivalents(ua, ru), "{ua} / {ru}");
        }
        for (a, b) in [
            ("Олександр", "Олексій"),
            ("Микола", "Михайло"),
            ("Олена", "Ольга"),
        ] {
            assert!(!are_equivalents(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn patronymics_meet_through_the_names_they_are_formed_from() {
        for (p, base) in [
            ("Олексійович", "олексій"),
            ("Алексеевич", "алексей"),
            ("Миколаївна", "микола"),
            ("Николаевна", "николай"),
            ("Сергійович", "сергій"),
            ("Сергеевич", "сергей"),
            ("Дмитрович", "дмитро"),
            ("Дмитриевич", "дмитрий"),
            ("Іванович", "іван"),
            ("Иванович", "иван"),
            ("Юрьевич", "юрий"),
            ("Ильич", "илья"),
            ("Петрівна", "петро"),
        ] {
            assert!(
                patronymic_bases(p).contains(&base.to_owned()),
                "{p}: {:?}",
                patronymic_bases(p)
            );
        }
        assert!(patronymic_bases("Шевченко").is_empty());
        let ua = patronymic_groups("Олексійович");
        assert!(!ua.is_empty() && ua == patronymic_groups("Алексеевич"));
    }

    /// Examples of the Daitch–Mokotoff soundex as its authors give them, and names that must
    /// meet across systems.
    #[test]
    fn daitch_mokotoff_codes_meet_across_spellings() {
        let codes = |w: &str| phonetic_codes(w);
        assert!(codes("Lipshitz").contains(&"874400".to_owned()));
        assert!(codes("Kleinman").contains(&"586660".to_owned()));
        let meet = |a: &str, b: &str| codes(a).iter().any(|c| codes(b).contains(c));
        for (a, b) in [
            ("Гриценко", "Gritsenko"),
            ("Hrytsenko", "Gritsenko"),
            ("Дем'яненко", "Демяненко"),
            ("Oleksandr", "Alexander"),
            ("Олександр", "Aleksandr"),
            ("Щербак", "Shcherbak"),
        ] {
            assert!(meet(a, b), "{a} {:?} / {b} {:?}", codes(a), codes(b));
        }
        assert!(given_codes("Микола") == given_codes("Nikolai"));
    }

    #[test]
    fn latin_patronymics_meet_their_cyrillic_forms() {
        for (latin, cyrillic) in [
            ("Nikolaevich", "Миколайович"),
            ("Evgen`evna", "Євгенівна"),
            ("Sergeyevich", "Сергійович"),
            ("Oleksiiovych", "Алексеевич"),
            ("Mykolaivna", "Николаевна"),
            ("Petrovich", "Петрович"),
        ] {
            let (a, b) = (patronymic_groups(latin), patronymic_groups(cyrillic));
            assert!(
                !a.is_empty() && a.iter().any(|g| b.contains(g)),
                "{latin} {:?} {a:?} / {cyrillic} {:?} {b:?}",
                patronymic_bases(latin),
                patronymic_bases(cyrillic)
            );
        }
        assert_eq!(fold_adjectival("vinetskaia"), fold_adjectival("vinetska"));
        assert_eq!(fold_adjectival("kuzmetskii"), fold_adjectival("kuzmetskyi"));
    }
}
