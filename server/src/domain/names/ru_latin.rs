//! Russian Cyrillic → Latin by the systems the other side's lists, passports and the press use,
//! so that a name written "Гриценко Александр" in a Russian list meets "Gritsenko Aleksandr" in
//! an ICRC one. Each system is its published table; `Popular` is the English-language press's
//! customary spelling (й → y, no marks for ь, ъ), not a standard.
//!
//! - GOST 7.79-2000 System B (ISO 9:1995 System B): ц is `cz` before e, i, y, j and `c`
//!   elsewhere; ъ `` `` ``, ы `y'`, ь `` ` ``, э `` e` ``; Ukrainian і i, ї yi, є ye, ґ `` g` ``.
//! - ICAO Doc 9303, part 3 (Russian passports since 2013): ё e, й i, х kh, ц ts, щ shch,
//!   ъ ie, ь nothing, ю iu, я ia; Ukrainian і i, ї i, є ie, ґ g.
//! - BGN/PCGN 1947: е and ё are `ye` at a word's start and after a vowel, й, ъ or ь; й y,
//!   ъ `"`, ь `'`, ы y, э e, ю yu, я ya (ё's diaeresis dropped).

/// A transliteration system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum System {
    Gost779B,
    Icao9303,
    BgnPcgn,
    Popular,
}

impl System {
    pub const ALL: [System; 4] = [
        System::Gost779B,
        System::Icao9303,
        System::BgnPcgn,
        System::Popular,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Gost779B => "GOST 7.79 System B",
            System::Icao9303 => "ICAO Doc 9303",
            System::BgnPcgn => "BGN/PCGN",
            System::Popular => "popular",
        }
    }
}

fn is_vowel_or_sign(c: char) -> bool {
    matches!(
        c,
        'а' | 'е'
            | 'ё'
            | 'и'
            | 'о'
            | 'у'
            | 'ы'
            | 'э'
            | 'ю'
            | 'я'
            | 'і'
            | 'ї'
            | 'є'
            | 'й'
            | 'ъ'
            | 'ь'
    )
}

/// Transliterates the Cyrillic letters of `s` by `system`; other characters pass through.
/// The first Latin letter of an upper-case Cyrillic letter is upper case.
pub fn to_latin(s: &str, system: System) -> String {
    use System::*;
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let upper = lower != c;
        let prev = i
            .checked_sub(1)
            .map(|j| chars[j].to_lowercase().next().unwrap_or(chars[j]));
        let next = chars
            .get(i + 1)
            .map(|n| n.to_lowercase().next().unwrap_or(*n));
        let at_start = prev.is_none_or(|p| !p.is_alphabetic());
        let iotated = at_start || prev.is_some_and(is_vowel_or_sign);
        let latin: &str = match (lower, system) {
            ('а', _) => "a",
            ('б', _) => "b",
            ('в', _) => "v",
            ('г', _) => "g",
            ('д', _) => "d",
            ('е', BgnPcgn) if iotated => "ye",
            ('е', Popular) if at_start => "ye",
            ('е', _) => "e",
            ('ё', Gost779B) => "yo",
            ('ё', Icao9303) => "e",
            ('ё', BgnPcgn) if iotated => "ye",
            ('ё', BgnPcgn) => "e",
            ('ё', Popular) if matches!(prev, Some('ж' | 'ч' | 'ш' | 'щ')) => "o",
            ('ё', Popular) => "yo",
            ('ж', _) => "zh",
            ('з', _) => "z",
            ('и', _) => "i",
            ('й', Gost779B) => "j",
            ('й', Icao9303) => "i",
            ('й', _) => "y",
            ('к', _) => "k",
            ('л', _) => "l",
            ('м', _) => "m",
            ('н', _) => "n",
            ('о', _) => "o",
            ('п', _) => "p",
            ('р', _) => "r",
            ('с', _) => "s",
            ('т', _) => "t",
            ('у', _) => "u",
            ('ф', _) => "f",
            ('х', Gost779B) => "x",
            ('х', _) => "kh",
            ('ц', Gost779B) if matches!(next, Some('е' | 'и' | 'ы' | 'й' | 'і' | 'є' | 'ї')) => {
                "cz"
            }
            ('ц', Gost779B) => "c",
            ('ц', _) => "ts",
            ('ч', _) => "ch",
            ('ш', _) => "sh",
            ('щ', Gost779B) => "shh",
            ('щ', _) => "shch",
            ('ъ', Gost779B) => "``",
            ('ъ', Icao9303) => "ie",
            ('ъ', BgnPcgn) => "\"",
            ('ъ', Popular) => "",
            ('ы', Gost779B) => "y'",
            ('ы', _) => "y",
            ('ь', Gost779B) => "`",
            ('ь', BgnPcgn) => "'",
            ('ь', _) => "",
            ('э', Gost779B) => "e`",
            ('э', _) => "e",
            ('ю', Icao9303) => "iu",
            ('ю', _) => "yu",
            ('я', Icao9303) => "ia",
            ('я', _) => "ya",
            ('і', _) => "i",
            ('ї', Icao9303) => "i",
            ('ї', _) => "yi",
            ('є', Icao9303) => "ie",
            ('є', _) => "ye",
            ('ґ', Gost779B) => "g`",
            ('ґ', _) => "g",
            _ => {
                out.push(c);
                continue;
            }
        };
        let mut it = latin.chars();
        if upper && let Some(first) = it.next() {
            out.extend(first.to_uppercase());
            out.push_str(it.as_str());
        } else {
            out.push_str(latin);
        }
    }
    out
}

/// Western spellings a popular form often takes in documents (`aleksandr` → `alexandr`,
/// `alexander`; `sergey` → `sergei`): lower-case ASCII in and out, the input left out.
pub fn popular_extra(word: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: String| {
        if s != word && !out.contains(&s) && out.len() < 8 {
            out.push(s);
        }
    };
    if word.contains("ks") {
        let x = word.replace("ks", "x");
        if let Some(stem) = x.strip_suffix("andr") {
            add(format!("{stem}ander"));
        }
        add(x);
    }
    for (end, alt) in [("iy", "ii"), ("ey", "ei"), ("ay", "ai"), ("iy", "y")] {
        if let Some(stem) = word.strip_suffix(end) {
            add(format!("{stem}{alt}"));
        }
    }
    if word.contains("kh") {
        add(word.replace("kh", "h"));
    }
    if word.contains("yu") {
        add(word.replace("yu", "iu"));
    }
    if word.contains("ya") {
        add(word.replace("ya", "ia"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{System::*, *};

    fn check(system: System, cases: &[(&str, &str)]) {
        for (ru, latin) in cases {
            assert_eq!(to_latin(ru, system), *latin, "{ru} by {}", system.name());
        }
    }

    /// Examples of GOST 7.79-2000's own table (System B).
    #[test]
    fn gost_7_79_system_b() {
        check(
            Gost779B,
            &[
                ("Щука", "Shhuka"),
                ("Цапля", "Caplya"),
                ("Цыганов", "Czy'ganov"),
                ("Объект", "Ob``ekt"),
                ("Эхо", "E`xo"),
                ("Щёлково", "Shhyolkovo"),
                ("Юрий", "Yurij"),
                ("Хабаровск", "Xabarovsk"),
                ("Соль", "Sol`"),
                ("Жуков", "Zhukov"),
            ],
        );
    }

    /// Forms as Russian passports (ICAO Doc 9303) print them.
    #[test]
    fn icao_doc_9303() {
        check(
            Icao9303,
            &[
                ("Александр", "Aleksandr"),
                ("Юлия", "Iuliia"),
                ("Сергей", "Sergei"),
                ("Андрей", "Andrei"),
                ("Щукин", "Shchukin"),
                ("Подъячев", "Podieiachev"),
                ("Артём", "Artem"),
                ("Наталья", "Natalia"),
                ("Хохлов", "Khokhlov"),
                ("Цветков", "Tsvetkov"),
            ],
        );
    }

    /// Examples of the BGN/PCGN 1947 romanization.
    #[test]
    fn bgn_pcgn() {
        check(
            BgnPcgn,
            &[
                ("Елена", "Yelena"),
                ("Сергеев", "Sergeyev"),
                ("Юрий", "Yuriy"),
                ("Объезд", "Ob\"yezd"),
                ("Ильич", "Il'ich"),
                ("Фёдор", "Fedor"),
                ("Майя", "Mayya"),
                ("Щербаков", "Shcherbakov"),
                ("Тимофеевич", "Timofeyevich"),
                ("Зыков", "Zykov"),
            ],
        );
    }

    #[test]
    fn popular_spellings() {
        check(
            Popular,
            &[
                ("Сергей", "Sergey"),
                ("Николай", "Nikolay"),
                ("Андрей", "Andrey"),
                ("Евгений", "Yevgeniy"),
                ("Фёдор", "Fyodor"),
                ("Пётр", "Pyotr"),
                ("Наталья", "Natalya"),
                ("Дмитрий", "Dmitriy"),
                ("Ольга", "Olga"),
                ("Алексеевич", "Alekseevich"),
            ],
        );
        let extra = popular_extra("aleksandr");
        assert!(extra.contains(&"alexandr".to_owned()));
        assert!(extra.contains(&"alexander".to_owned()));
        assert!(popular_extra("sergey").contains(&"sergei".to_owned()));
        assert!(popular_extra("dmitriy").contains(&"dmitry".to_owned()));
    }
}
