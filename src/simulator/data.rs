//! The simulator's bundled dataset: 200+ jobs, generated deterministically.
//!
//! It holds the cases the resolver must get right: sub-jobs with `/` paths, one name
//! ("Drainage") under several parents, non-ASCII names, names with spaces and punctuation, HTML
//! descriptions in the MSHTML form of the API sample (top-level `Description` empty,
//! `EntityObject.description` HTML), and "Bridge", whose exact match is on page 2 of its own
//! search behind 24 "Bridge Inspection NN" jobs.

use crate::api::wire::{WireEntity, WireId, WireJob};

const GUID: &str = "b993c729-bf98-490c-989d-5621e3b48139";
const FIRST_ID: i64 = 40001;

const MSHTML_HEAD: &str = "<HTML><HEAD>\r\n<META name=GENERATOR content=\"MSHTML 11.00.10570.1001\"></HEAD>\r\n<BODY>";

/// A description as the server stores it.
enum Desc {
    None,
    Text(&'static str),
    /// Paragraphs to wrap in an MSHTML document (may contain inline HTML and entities).
    Html(&'static [&'static str]),
    /// The exact empty MSHTML document of the API sample.
    EmptyHtml,
}

struct Seed {
    name: String,
    parent: Option<usize>,
    desc: Desc,
}

fn seed(name: &str, parent: Option<usize>, desc: Desc) -> Seed {
    Seed { name: name.to_string(), parent, desc }
}

const SUBURBS: [&str; 20] = [
    "Ashfield",
    "Burwood",
    "Campsie",
    "Dundas",
    "Epping",
    "Fairfield",
    "Granville",
    "Hornsby",
    "Ingleburn",
    "Jannali",
    "Kogarah",
    "Liverpool",
    "Marrickville",
    "Narellan",
    "Oatley",
    "Parramatta",
    "Quakers Hill",
    "Rockdale",
    "Strathfield",
    "Toongabbie",
];
const WORKS: [&str; 8] = [
    "Stormwater Upgrade",
    "Road Resurfacing",
    "Subdivision",
    "Intersection Upgrade",
    "Flood Study",
    "Cycleway",
    "Retaining Wall",
    "Car Park",
];
const CREATORS: [&str; 6] = ["Jo Bloggs", "Priya Natarajan", "Wei Zhang", "Aroha Ngata", "Sam O'Neill", ""];

fn seeds() -> Vec<Seed> {
    let mut s = vec![
        seed("Test", None, Desc::EmptyHtml),
        seed(
            "Riverside",
            None,
            Desc::Html(&[
                "Flood mitigation for the <B>Riverside</B> precinct &amp; levee.",
                "Design lead: Jo Bloggs &lt;jo@example.com&gt;<BR>Status: detailed design",
            ]),
        ),
        seed("Riverside Park", None, Desc::Text("Landscaping and paths for Riverside Park.")),
        seed(
            "Highway Upgrade 2024",
            None,
            Desc::Html(&[
                "Duplication of the highway &ndash; 12&nbsp;km.",
                "<UL><LI>Stage 1: earthworks<LI>Stage 2: pavement</UL>",
            ]),
        ),
        seed("Pit-Survey_07", None, Desc::Text("Open-pit survey, 2007 datum.")),
        seed("Harbour Bridge Stage 2", None, Desc::None),
        seed("Zürich Tunnel", None, Desc::Text("Tunnel alignment study.")),
        seed("Café Müller Plaza", None, Desc::Html(&["Forecourt regrading for Café Müller."])),
        seed("Ōtāhuhu Interchange", None, Desc::None),
        seed("São Paulo Ring Road", None, Desc::None),
        seed("北京 Metro Line 3", None, Desc::Text("Station box design.")),
        seed("Smith & Sons (Stage 2)", None, Desc::Text("Private subdivision, stage 2.")),
        seed("O'Brien Rd Widening", None, Desc::None),
        seed("Lot 12, Block C", None, Desc::None),
        seed("Main St. Upgrade", None, Desc::None),
    ];
    let highway = 3;
    s.push(seed("Stage 1", Some(highway), Desc::Text("Earthworks.")));
    s.push(seed("Stage 2", Some(highway), Desc::Text("Pavement.")));
    for region in ["Region A", "Region B", "Region North"] {
        let parent = s.len();
        s.push(seed(region, None, Desc::Text("Regional works programme.")));
        for sub in ["Drainage", "Earthworks", "Survey Control"] {
            s.push(seed(sub, Some(parent), Desc::Html(&["Sub-job of the regional programme."])));
        }
    }
    for i in 1..=24 {
        s.push(seed(&format!("Bridge Inspection {i:02}"), None, Desc::None));
    }
    s.push(seed("Bridge", None, Desc::Text("The bridge itself: exact match on page 2 of its search.")));
    for suburb in SUBURBS {
        for work in WORKS {
            s.push(seed(&format!("{suburb} {work}"), None, Desc::None));
        }
    }
    s
}

/// The bundled dataset as the API would return it.
pub fn bundled_jobs() -> Vec<WireJob> {
    let seeds = seeds();
    let ids: Vec<i64> = (0..seeds.len() as i64).map(|i| FIRST_ID + i).collect();
    let mut paths: Vec<String> = Vec::with_capacity(seeds.len());
    for s in &seeds {
        let path = match s.parent {
            Some(p) => format!("{}/{}", paths[p], s.name),
            None => s.name.clone(),
        };
        paths.push(path);
    }
    seeds
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let children = seeds.iter().filter(|c| c.parent == Some(i)).count() as i64;
            let creator = CREATORS[i % CREATORS.len()];
            let (top, html) = match &s.desc {
                Desc::None => (String::new(), String::new()),
                Desc::Text(t) => (t.to_string(), t.to_string()),
                Desc::Html(paras) => {
                    let body: String = paras.iter().map(|p| format!("\r\n<P>{p}</P>")).collect();
                    (String::new(), format!("{MSHTML_HEAD}{body}</BODY></HTML>"))
                }
                Desc::EmptyHtml => (String::new(), format!("{MSHTML_HEAD}</BODY></HTML>")),
            };
            job(JobFields {
                id: ids[i],
                name: &s.name,
                path: &paths[i],
                parent: s.parent.map(|p| ids[p]),
                created: created_date(i),
                creator,
                children,
                folders: (i as i64 * 7) % 30,
                td_jobs: (i as i64 * 3) % 5,
                notes: (i as i64) % 4,
                description: top,
                entity_description: html,
            })
        })
        .collect()
}

/// Everything that varies between jobs.
pub struct JobFields<'a> {
    pub id: i64,
    pub name: &'a str,
    pub path: &'a str,
    pub parent: Option<i64>,
    pub created: String,
    pub creator: &'a str,
    pub children: i64,
    pub folders: i64,
    pub td_jobs: i64,
    pub notes: i64,
    pub description: String,
    pub entity_description: String,
}

/// A complete Job object, every field of the reference filled in.
pub fn job(f: JobFields<'_>) -> WireJob {
    let id = WireId::new(f.id, 1, GUID);
    let creator_id = WireId::new(1 + f.id % 5, 1, GUID);
    let parent = f.parent.map(|p| WireId::new(p, 1, GUID));
    WireJob {
        id: Some(id.clone()),
        name: Some(f.name.to_string()),
        description: Some(f.description),
        job_creator_name: Some(f.creator.to_string()),
        created_date: Some(f.created.clone()),
        no_of_children: Some(f.children),
        no_of_folders: Some(f.folders),
        no_of_td_jobs: Some(f.td_jobs),
        inherit_permissions: Some(true),
        inherit_file_naming_rules: Some(false),
        always_display_parent: Some(false),
        delete_locked: Some(false),
        job_type: Some("Normal".into()),
        creator_id: Some(creator_id.clone()),
        parent_job_id: parent.clone(),
        attributes: Some(Vec::new()),
        job_items: None,
        no_of_notes: Some(f.notes),
        path: Some(f.path.to_string()),
        entity_object: Some(WireEntity {
            parent_project_id: parent,
            creator_name: Some(f.creator.to_string()),
            num_children: Some(f.children),
            num_folders: Some(f.folders),
            num_td_projects: Some(f.td_jobs),
            inherit_permissions: Some(true),
            always_display_parent: Some(false),
            rule_set: None,
            inherits_file_naming_rules: Some(false),
            inherits_triggers_from_parent: Some(false),
            delete_locked: Some(false),
            cad_publish_output_path: None,
            customisation_info: None,
            form_attachments: None,
            id: Some(id),
            name: Some(f.name.to_string()),
            create_date: Some(f.created),
            creator_id: Some(creator_id),
            attributes: Some(Vec::new()),
            description: Some(f.entity_description),
            entity_type: Some(serde_json::json!(0)),
        }),
    }
}

/// A creation date in the API's format (no offset, variable fraction), spread over 2022–2025.
fn created_date(i: usize) -> String {
    let days = 19_000 + (i as i64 * 37) % 1_400; // days since 1970-01-01
    let (y, m, d) = crate::present::civil_from_days(days);
    let secs = (i * 7919) % 86_400;
    let frac = ["", ".4", ".42", ".097"][i % 4];
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// `count` top-level jobs named `"{prefix} {n}"` with `n` zero-padded to `digits`, for load
/// benchmarks (`"Site 0001"` … with `("Site", 1000, 4)`). IDs start after the bundled dataset's.
pub fn numbered_jobs(prefix: &str, count: usize, digits: usize) -> Vec<WireJob> {
    (0..count)
        .map(|n| {
            let name = format!("{prefix} {n:0digits$}");
            job(JobFields {
                id: 100_000 + n as i64,
                name: &name,
                path: &name,
                parent: None,
                created: "2025-01-01 00:00:00".into(),
                creator: "Load Bench",
                children: 0,
                folders: 3,
                td_jobs: 1,
                notes: 0,
                description: format!("Generated job {n}."),
                entity_description: String::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_has_the_promised_cases() {
        let jobs: Vec<_> = bundled_jobs().into_iter().map(|j| j.into_job().unwrap()).collect();
        assert!(jobs.len() >= 200, "{}", jobs.len());
        assert_eq!(jobs.iter().filter(|j| j.name() == "Drainage").count(), 3);
        assert!(jobs.iter().any(|j| j.path() == "Region A/Drainage"));
        assert!(jobs.iter().any(|j| !j.name().is_ascii()));
        let riverside = jobs.iter().find(|j| j.name() == "Riverside").unwrap();
        assert!(riverside.description().starts_with("Flood mitigation for the Riverside precinct & levee."));
        let bridge = jobs.iter().position(|j| j.name() == "Bridge").unwrap();
        let before = jobs[..bridge].iter().filter(|j| j.name().to_lowercase().contains("bridge")).count();
        assert!(before >= 20, "Bridge must not be on the first page of 20");
        let ids: std::collections::HashSet<_> = jobs.iter().map(|j| &j.id).collect();
        assert_eq!(ids.len(), jobs.len());
        assert_eq!(crate::present::civil_from_days(19_000), (2022, 1, 8));
    }
}
