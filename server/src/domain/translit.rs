//! Ukrainian–Latin transliteration as the Cabinet of Ministers Resolution No. 55 of 27 January
//! 2010 sets it, and the normalised name keys that name search matches.
//!
//! Position rules: є, ї, й, ю, я are written `ye`, `yi`, `y`, `yu`, `ya` at the start of a word
//! and `ie`, `i`, `i`, `iu`, `ia` elsewhere; `зг` is `zgh` (to tell it from `ж`); the soft sign
//! and the apostrophe are not written. A few Russian letters that occur in names written in
//! Russian (ё, ъ, ы, э) get their customary Latin forms, so such spellings are found too.

/// Transliterates Cyrillic in `s` (other characters pass through), keeping letter case in the
/// simple form the resolution uses (first letter capitalised when the source letter was).
pub fn to_latin(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        let lower = lower_char(c);
        let upper = c != lower;
        let at_word_start = i == 0 || !chars[i - 1].is_alphabetic() && !is_apostrophe(chars[i - 1]);
        let latin: &str = match lower {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => {
                if i > 0 && lower_char(chars[i - 1]) == 'з' {
                    "gh"
                } else {
                    "h"
                }
            }
            'ґ' => "g",
            'д' => "d",
            'е' => "e",
            'є' => pick(at_word_start, "ye", "ie"),
            'ж' => "zh",
            'з' => "z",
            'и' => "y",
            'і' => "i",
            'ї' => pick(at_word_start, "yi", "i"),
            'й' => pick(at_word_start, "y", "i"),
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ь' | 'ъ' => "",
            'ю' => pick(at_word_start, "yu", "iu"),
            'я' => pick(at_word_start, "ya", "ia"),
            'ё' => pick(at_word_start, "yo", "io"),
            'ы' => "y",
            'э' => "e",
            c if is_apostrophe(c) => "",
            _ => {
                out.push(c);
                continue;
            }
        };
        if upper {
            let mut it = latin.chars();
            if let Some(first) = it.next() {
                out.extend(first.to_uppercase());
                out.push_str(it.as_str());
            }
        } else {
            out.push_str(latin);
        }
    }
    out
}

fn pick(at_start: bool, initial: &'static str, other: &'static str) -> &'static str {
    if at_start { initial } else { other }
}

fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '‘' | 'ʹ')
}

/// The search keys of a name: each word (split at spaces and hyphens), transliterated,
/// lowercased, reduced to ASCII letters and digits. "Шевченко-Бойко" gives `shevchenko` and
/// `boiko`; "Shevchenko" gives `shevchenko`.
pub fn name_keys(name: &str) -> Vec<String> {
    to_latin(name)
        .split(|c: char| c.is_whitespace() || c == '-' || c == '‐' || c == '–')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
        })
        .filter(|k| !k.is_empty())
        .collect()
}

/// Keys of a person's names (family, given, patronymic), without repeats.
pub fn person_keys(family: &str, given: &str, patronymic: &str) -> Vec<String> {
    let mut keys: Vec<String> = [family, given, patronymic]
        .iter()
        .flat_map(|n| name_keys(n))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Examples given in Resolution No. 55 itself.
    #[test]
    fn the_resolutions_own_examples_transliterate_as_it_says() {
        for (ua, latin) in [
            ("Алушта", "Alushta"),
            ("Андрій", "Andrii"),
            ("Борщагівка", "Borshchahivka"),
            ("Борисенко", "Borysenko"),
            ("Вінниця", "Vinnytsia"),
            ("Володимир", "Volodymyr"),
            ("Гадяч", "Hadiach"),
            ("Богдан", "Bohdan"),
            ("Згурський", "Zghurskyi"),
            ("Ґалаґан", "Galagan"),
            ("Ґорґани", "Gorgany"),
            ("Донецьк", "Donetsk"),
            ("Дмитро", "Dmytro"),
            ("Рівне", "Rivne"),
            ("Олег", "Oleh"),
            ("Есмань", "Esman"),
            ("Єнакієве", "Yenakiieve"),
            ("Гаєвич", "Haievych"),
            ("Короп'є", "Koropie"),
            ("Житомир", "Zhytomyr"),
            ("Жанна", "Zhanna"),
            ("Жежелів", "Zhezheliv"),
            ("Закарпаття", "Zakarpattia"),
            ("Казимирчук", "Kazymyrchuk"),
            ("Медвин", "Medvyn"),
            ("Михайленко", "Mykhailenko"),
            ("Іванків", "Ivankiv"),
            ("Іващенко", "Ivashchenko"),
            ("Їжакевич", "Yizhakevych"),
            ("Кадиївка", "Kadyivka"),
            ("Мар'їне", "Marine"),
            ("Йосипівка", "Yosypivka"),
            ("Стрий", "Stryi"),
            ("Олексій", "Oleksii"),
            ("Київ", "Kyiv"),
            ("Коваленко", "Kovalenko"),
            ("Лебедин", "Lebedyn"),
            ("Леонід", "Leonid"),
            ("Миколаїв", "Mykolaiv"),
            ("Маринич", "Marynych"),
            ("Ніжин", "Nizhyn"),
            ("Наталія", "Nataliia"),
            ("Одеса", "Odesa"),
            ("Онищенко", "Onyshchenko"),
            ("Полтава", "Poltava"),
            ("Петро", "Petro"),
            ("Решетилівка", "Reshetylivka"),
            ("Рибчинський", "Rybchynskyi"),
            ("Суми", "Sumy"),
            ("Соломія", "Solomiia"),
            ("Тернопіль", "Ternopil"),
            ("Троць", "Trots"),
            ("Ужгород", "Uzhhorod"),
            ("Уляна", "Uliana"),
            ("Фастів", "Fastiv"),
            ("Філіпчук", "Filipchuk"),
            ("Харків", "Kharkiv"),
            ("Христина", "Khrystyna"),
            ("Біла Церква", "Bila Tserkva"),
            ("Стеценко", "Stetsenko"),
            ("Чернівці", "Chernivtsi"),
            ("Шевченко", "Shevchenko"),
            ("Шостка", "Shostka"),
            ("Кишеньки", "Kyshenky"),
            ("Щербухи", "Shcherbukhy"),
            ("Гоща", "Hoshcha"),
            ("Гаращенко", "Harashchenko"),
            ("Юрій", "Yurii"),
            ("Корюківка", "Koriukivka"),
            ("Яготин", "Yahotyn"),
            ("Ярошенко", "Yaroshenko"),
            ("Костянтин", "Kostiantyn"),
            ("Знам'янка", "Znamianka"),
            ("Феодосія", "Feodosiia"),
            ("Згорани", "Zghorany"),
            ("Розгон", "Rozghon"),
        ] {
            assert_eq!(to_latin(ua), latin, "{ua}");
        }
    }

    #[test]
    fn keys_are_lowercase_ascii_words_of_either_script() {
        assert_eq!(name_keys("Шевченко"), ["shevchenko"]);
        assert_eq!(name_keys("Shevchenko"), ["shevchenko"]);
        assert_eq!(
            name_keys(" Мар’яна  Бойко-Шевчук "),
            ["mariana", "boiko", "shevchuk"]
        );
        assert_eq!(name_keys("O'Neil"), ["oneil"]);
        assert_eq!(name_keys("''"), Vec::<String>::new());
    }

    #[test]
    fn person_keys_merge_all_three_names_once() {
        assert_eq!(
            person_keys("Іваненко", "Іван", "Іванович"),
            ["ivan", "ivanenko", "ivanovych"]
        );
        assert_eq!(
            person_keys("Petrenko", "Petro", "Petro"),
            ["petrenko", "petro"]
        );
    }
}
