//! The registry's enumerations. Codes equal the proto enum numbers, so the wire conversion is a
//! lookup, and names are the proto names without their prefix (`RETURNED` for
//! `PERSON_STATUS_RETURNED`); filters accept either spelling.

/// What every registry enum can do.
pub trait WireEnum: Sized + Copy + 'static {
    /// The proto enum's prefix, e.g. `PERSON_STATUS_`.
    const PREFIX: &'static str;
    /// Every value with its code and short name, `UNSPECIFIED` first.
    const ALL: &'static [(Self, i32, &'static str)];

    fn code(self) -> i32;

    fn from_code(code: i32) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(v, _, _)| *v)
    }

    /// Short name (`RETURNED`).
    fn name(self) -> &'static str {
        let code = self.code();
        Self::ALL
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(_, _, n)| *n)
            .unwrap_or("UNSPECIFIED")
    }

    /// Accepts the short name or the full proto name, case-insensitively.
    fn parse_name(s: &str) -> Option<Self> {
        let upper = s.trim().to_ascii_uppercase();
        let short = upper.strip_prefix(Self::PREFIX).unwrap_or(&upper);
        Self::ALL
            .iter()
            .find(|(_, _, n)| *n == short)
            .map(|(v, _, _)| *v)
    }

    /// Names a client may write, for error messages.
    fn names() -> String {
        Self::ALL
            .iter()
            .skip(1)
            .map(|(_, _, n)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $prefix:literal { $($variant:ident = $code:literal => $short:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(test, derive(serde::Serialize))]
        #[cfg_attr(test, serde(rename_all = "SCREAMING_SNAKE_CASE"))]
        pub enum $name {
            #[default]
            Unspecified,
            $($variant),+
        }

        impl WireEnum for $name {
            const PREFIX: &'static str = $prefix;
            const ALL: &'static [(Self, i32, &'static str)] =
                &[(Self::Unspecified, 0, "UNSPECIFIED"), $((Self::$variant, $code, $short)),+];

            fn code(self) -> i32 {
                match self {
                    Self::Unspecified => 0,
                    $(Self::$variant => $code),+
                }
            }
        }
    };
}

wire_enum!(
    /// How a category is used.
    CategoryKind, "CATEGORY_KIND_" {
        Priority = 1 => "PRIORITY",
        Legal = 2 => "LEGAL",
        Demographic = 3 => "DEMOGRAPHIC",
        Other = 4 => "OTHER",
    }
);

wire_enum!(
    ExchangeStatus, "EXCHANGE_STATUS_" {
        Planned = 1 => "PLANNED",
        Completed = 2 => "COMPLETED",
        Cancelled = 3 => "CANCELLED",
    }
);

wire_enum!(
    PersonKind, "PERSON_KIND_" {
        Military = 1 => "MILITARY",
        Civilian = 2 => "CIVILIAN",
    }
);

wire_enum!(
    Sex, "SEX_" {
        Male = 1 => "MALE",
        Female = 2 => "FEMALE",
    }
);

wire_enum!(
    ServiceBranch, "SERVICE_BRANCH_" {
        ArmedForces = 1 => "ARMED_FORCES",
        NationalGuard = 2 => "NATIONAL_GUARD",
        StateBorderGuardService = 3 => "STATE_BORDER_GUARD_SERVICE",
        StateSpecialTransportService = 4 => "STATE_SPECIAL_TRANSPORT_SERVICE",
        NationalPolice = 5 => "NATIONAL_POLICE",
        SecurityService = 6 => "SECURITY_SERVICE",
        Other = 7 => "OTHER",
    }
);

wire_enum!(
    RankGroup, "RANK_GROUP_" {
        Soldier = 1 => "SOLDIER",
        Sergeant = 2 => "SERGEANT",
        Officer = 3 => "OFFICER",
    }
);

wire_enum!(
    PersonStatus, "PERSON_STATUS_" {
        Missing = 1 => "MISSING",
        InCaptivity = 2 => "IN_CAPTIVITY",
        Returned = 3 => "RETURNED",
        Deceased = 4 => "DECEASED",
    }
);

wire_enum!(
    /// What kind of document identifies a person.
    DocumentType, "IDENTITY_DOCUMENT_TYPE_" {
        Passport = 1 => "PASSPORT",
        InternationalPassport = 2 => "INTERNATIONAL_PASSPORT",
        MilitaryId = 3 => "MILITARY_ID",
        BirthCertificate = 4 => "BIRTH_CERTIFICATE",
        ResidencePermit = 5 => "RESIDENCE_PERMIT",
        Other = 6 => "OTHER",
    }
);

wire_enum!(
    /// What happened to a person (see `domain::event` for what each sets on the record).
    PersonEventType, "PERSON_EVENT_TYPE_" {
        Captured = 1 => "CAPTURED",
        Interned = 2 => "INTERNED",
        Transferred = 3 => "TRANSFERRED",
        Hospitalised = 4 => "HOSPITALISED",
        Convicted = 5 => "CONVICTED",
        Released = 6 => "RELEASED",
        Exchanged = 7 => "EXCHANGED",
        Escaped = 8 => "ESCAPED",
        Died = 9 => "DIED",
        RepatriatedRemains = 10 => "REPATRIATED_REMAINS",
        FamilyInformed = 11 => "FAMILY_INFORMED",
        MedicalExamination = 12 => "MEDICAL_EXAMINATION",
        Rehabilitation = 13 => "REHABILITATION",
        Payment = 14 => "PAYMENT",
        Other = 15 => "OTHER",
    }
);

wire_enum!(
    /// How much of a date is known.
    DatePrecision, "DATE_PRECISION_" {
        Day = 1 => "DAY",
        Month = 2 => "MONTH",
        Year = 3 => "YEAR",
    }
);

wire_enum!(
    CareStatus, "CARE_STATUS_" {
        NotStarted = 1 => "NOT_STARTED",
        InProgress = 2 => "IN_PROGRESS",
        Completed = 3 => "COMPLETED",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_parse_with_or_without_their_prefix() {
        assert_eq!(
            PersonStatus::parse_name("RETURNED"),
            Some(PersonStatus::Returned)
        );
        assert_eq!(
            PersonStatus::parse_name("PERSON_STATUS_IN_CAPTIVITY"),
            Some(PersonStatus::InCaptivity)
        );
        assert_eq!(
            PersonStatus::parse_name("returned"),
            Some(PersonStatus::Returned)
        );
        assert_eq!(PersonStatus::parse_name("COMPLETED"), None);
    }

    #[test]
    fn codes_round_trip() {
        for (v, code, name) in ServiceBranch::ALL {
            assert_eq!(v.code(), *code);
            assert_eq!(ServiceBranch::from_code(*code), Some(*v));
            assert_eq!(v.name(), *name);
        }
        assert_eq!(ServiceBranch::from_code(99), None);
    }
}

wire_enum!(
    /// What a bearer token may do; each role can do everything the ones before it can.
    Role, "ROLE_" {
        Viewer = 1 => "VIEWER",
        Editor = 2 => "EDITOR",
        Admin = 3 => "ADMIN",
    }
);

impl Role {
    /// Whether this role may call something that requires `required`.
    pub fn includes(self, required: Role) -> bool {
        self.code() >= required.code() && self != Role::Unspecified
    }
}
