//! Serde mirrors of the Synergy JSON, exactly as `shared/reference/synergy-api.md` shows it, and
//! their one conversion into domain types.
//!
//! Decoding is tolerant: unknown fields are ignored, every field is optional, and a field of an
//! unexpected type becomes `None` instead of failing the whole response (the server's schema is
//! not public). GUIDs are not validated. The simulator serializes these same structs, so the
//! client and the simulator cannot drift apart.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::{Job, JobParts};

/// Accepts any JSON for a field and keeps it only if it has the expected type.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// The paging envelope: `{PageNumber, PageSize, TotalRows, TotalPages, Result}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PageEnvelope<T> {
    #[serde(default, deserialize_with = "lenient")]
    pub page_number: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub page_size: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub total_rows: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub total_pages: Option<i64>,
    /// Required: a body without it is not a search answer.
    pub result: Vec<T>,
}

/// The Entity ID object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WireId {
    #[serde(rename = "_id", default, deserialize_with = "lenient")]
    pub id: Option<i64>,
    #[serde(rename = "_server_id", default, deserialize_with = "lenient")]
    pub server_id: Option<i64>,
    #[serde(rename = "_server_guid", default, deserialize_with = "lenient")]
    pub server_guid: Option<String>,
    #[serde(rename = "IDString", default, deserialize_with = "lenient")]
    pub id_string: Option<String>,
}

impl WireId {
    pub fn new(id: i64, server_id: i64, guid: &str) -> WireId {
        WireId {
            id: Some(id),
            server_id: Some(server_id),
            server_guid: Some(guid.to_string()),
            id_string: Some(format!("{id}_{server_id}")),
        }
    }

    /// `IDString`, or built from `_id` and `_server_id` as the docs describe it.
    fn to_id_string(&self) -> Option<String> {
        self.id_string.clone().filter(|s| !s.is_empty()).or_else(|| {
            let id = self.id?;
            Some(format!("{id}_{}", self.server_id.unwrap_or(1)))
        })
    }
}

/// A Job object as returned by the quick job search.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WireJob {
    #[serde(rename = "ID", default, deserialize_with = "lenient")]
    pub id: Option<WireId>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub job_creator_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_date: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub no_of_children: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub no_of_folders: Option<i64>,
    #[serde(rename = "NoOfTDJobs", default, deserialize_with = "lenient")]
    pub no_of_td_jobs: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub inherit_permissions: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub inherit_file_naming_rules: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub always_display_parent: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub delete_locked: Option<bool>,
    #[serde(rename = "Type", default, deserialize_with = "lenient")]
    pub job_type: Option<String>,
    #[serde(rename = "CreatorID", default, deserialize_with = "lenient")]
    pub creator_id: Option<WireId>,
    #[serde(rename = "ParentJobID", default, deserialize_with = "lenient")]
    pub parent_job_id: Option<WireId>,
    #[serde(default, deserialize_with = "lenient")]
    pub attributes: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient")]
    pub job_items: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub no_of_notes: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub path: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub entity_object: Option<WireEntity>,
}

/// `EntityObject`: the server's internal (snake_case) view of the same job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WireEntity {
    #[serde(default, deserialize_with = "lenient")]
    pub parent_project_id: Option<WireId>,
    #[serde(default, deserialize_with = "lenient")]
    pub creator_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub num_children: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub num_folders: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub num_td_projects: Option<i64>,
    #[serde(default, deserialize_with = "lenient")]
    pub inherit_permissions: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub always_display_parent: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub rule_set: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub inherits_file_naming_rules: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub inherits_triggers_from_parent: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub delete_locked: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub cad_publish_output_path: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub customisation_info: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub form_attachments: Option<Value>,
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<WireId>,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub create_date: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub creator_id: Option<WireId>,
    #[serde(default, deserialize_with = "lenient")]
    pub attributes: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient")]
    pub description: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient")]
    pub entity_type: Option<Value>,
}

fn non_empty(s: Option<&String>) -> Option<&str> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn count(n: Option<i64>) -> Option<u32> {
    n.and_then(|n| u32::try_from(n).ok())
}

/// One shared copy of strings many jobs repeat (job types, creators).
fn intern(s: &str) -> Arc<str> {
    static POOL: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<Arc<str>>>> =
        std::sync::OnceLock::new();
    let mut pool = POOL.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(shared) = pool.get(s) {
        return shared.clone();
    }
    let shared: Arc<str> = s.into();
    if pool.len() < 10_000 {
        pool.insert(shared.clone());
    }
    shared
}

impl WireJob {
    /// The one conversion to a domain [`Job`]; `None` for an entry without a name.
    pub fn into_job(self) -> Option<Job> {
        let entity = self.entity_object.unwrap_or_default();
        let name = non_empty(self.name.as_ref()).or_else(|| non_empty(entity.name.as_ref()))?;
        let path = non_empty(self.path.as_ref()).unwrap_or(name);
        let id = self
            .id
            .as_ref()
            .or(entity.id.as_ref())
            .and_then(WireId::to_id_string)
            .unwrap_or_else(|| format!("path:{path}"));
        let description = [self.description.as_deref(), entity.description.as_deref()]
            .into_iter()
            .flatten()
            .map(crate::html::to_text)
            .find(|d| !d.is_empty())
            .unwrap_or_default();
        let created = non_empty(self.created_date.as_ref()).or_else(|| non_empty(entity.create_date.as_ref()));
        Some(Job::new(JobParts {
            id: &id,
            name,
            path,
            job_type: non_empty(self.job_type.as_ref()).map(intern),
            created,
            creator: non_empty(self.job_creator_name.as_ref())
                .or_else(|| non_empty(entity.creator_name.as_ref()))
                .map(intern),
            sub_jobs: count(self.no_of_children.or(entity.num_children)),
            folders: count(self.no_of_folders.or(entity.num_folders)),
            td_jobs: count(self.no_of_td_jobs.or(entity.num_td_projects)),
            notes: count(self.no_of_notes),
            description: &description,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample response from the docs (generate-pat-web-client.md), verbatim in shape.
    const DOCS_SAMPLE: &str = r#"{"PageNumber":1,"PageSize":20,"TotalRows":1,"TotalPages":1,"Result":[{"ID":{"_id":1,"_server_id":1,"_server_guid":"b993c729-bf98-490c-989d-5621e332229","IDString":"1_1"},"Name":"Test","Description":"","JobCreatorName":"","CreatedDate":"2024-12-17T22:51:58.097","NoOfChildren":0,"NoOfFolders":28,"NoOfTDJobs":0,"InheritPermissions":true,"InheritFileNamingRules":false,"AlwaysDisplayParent":false,"DeleteLocked":false,"Type":"Normal","CreatorID":{"_id":1,"_server_id":1,"_server_guid":"b993c729-bf98-490c-989d-5621e3b48149","IDString":"1_1"},"ParentJobID":null,"Attributes":[],"JobItems":null,"NoOfNotes":0,"Path":"Test","EntityObject":{"parent_project_id":null,"creator_name":"","num_children":0,"num_folders":28,"num_td_projects":0,"inherit_permissions":true,"always_display_parent":false,"rule_set":null,"inherits_file_naming_rules":false,"delete_locked":false,"cad_publish_output_path":null,"customisation_info":null,"id":{"_id":1,"_server_id":1,"_server_guid":"b993c729-bf98-490c-989d-5621e3b41139","IDString":"1_1"},"name":"Test","create_date":"2024-12-17T22:51:58.097","creator_id":{"_id":1,"_server_id":1,"_server_guid":"b993hm29-bf98-490c-949d-5621e3b48139","IDString":"1_1"},"attributes":[],"description":"<HTML><HEAD>\r\n<META name=GENERATOR content=\"MSHTML 11.00.10570.1001\"></HEAD>\r\n<BODY><P>Main&nbsp;road</P></BODY></HTML>","type":0}}]}"#;

    #[test]
    fn decodes_the_documented_sample() {
        let page: PageEnvelope<WireJob> = serde_json::from_str(DOCS_SAMPLE).unwrap();
        assert_eq!((page.page_size, page.total_pages), (Some(20), Some(1)));
        let job = page.result.into_iter().next().unwrap().into_job().unwrap();
        expect_test::expect![[r#"
            Job {
                id: JobId(
                    "1_1",
                ),
                name: "Test",
                path: "Test",
                job_type: Some(
                    "Normal",
                ),
                created: Some(
                    "2024-12-17T22:51:58.097",
                ),
                creator: None,
                sub_jobs: Some(
                    0,
                ),
                folders: Some(
                    28,
                ),
                td_jobs: Some(
                    0,
                ),
                notes: Some(
                    0,
                ),
                description: "Main road",
            }"#]]
        .assert_eq(&format!("{job:#?}"));
    }

    #[test]
    fn tolerates_odd_fields_and_rejects_wrong_shapes() {
        let page: PageEnvelope<WireJob> = serde_json::from_str(
            r#"{"TotalPages":"two","Extra":1,"Result":[{"Name":"A","NoOfFolders":"3","ID":{"_id":7}},{"Description":"no name"}]}"#,
        )
        .unwrap();
        assert_eq!(page.total_pages, None);
        let jobs: Vec<Job> = page.result.into_iter().filter_map(WireJob::into_job).collect();
        assert_eq!(jobs.len(), 1);
        assert_eq!((&*jobs[0].id.0, jobs[0].folders(), jobs[0].path()), ("7_1", None, "A"));
        for bad in ["[]", "{}", r#"{"Result":{}}"#, "null", r#""str""#] {
            assert!(serde_json::from_str::<PageEnvelope<WireJob>>(bad).is_err(), "{bad}");
        }
    }
}
