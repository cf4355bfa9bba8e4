"""The words, names, places and user agents the generated songs, artists and users are made of."""

from __future__ import annotations

WORDS = ["Love", "Heart", "Night", "Day", "Fire", "Rain", "Sun", "Moon", "Star", "Dream", "Light", "Dark", "River", "Road", "Home", "Time", "World", "Sky", "Blue", "Red", "Gold", "Silver", "Summer", "Winter", "Girl", "Boy", "Baby", "Man", "Woman", "City", "Street", "Dance", "Song", "Music", "Soul", "Mind", "Eyes", "Kiss", "Tears", "Angel", "Devil", "Heaven", "Ocean", "Wind", "Storm", "Shadow", "Ghost", "Memory", "Story", "Secret", "Promise", "Fever", "Magic", "Crazy", "Wild", "Sweet", "Lonely", "Broken", "Golden", "Electric", "Midnight", "Morning", "Yesterday", "Tomorrow", "Forever", "Never", "Again", "Away", "Alone", "Together", "Inside", "Outside", "Under", "Over", "Back", "Down", "Little", "Big", "Last", "First", "Only", "Better", "Fool", "Paradise", "Highway", "Train", "Letter", "Window", "Mirror", "Garden", "Flower", "Rose", "Diamond", "Honey", "Sugar", "Whiskey", "Blues", "Rock", "Roll", "Rhythm", "Thunder", "Lightning", "Ice", "Stone", "Wolf", "Tiger", "Bird", "Butterfly", "Dragon", "Machine", "Radio", "Telephone", "Satellite", "Rocket", "Kingdom", "Empire", "Revolution", "Freedom", "Glory", "Sorrow", "Joy", "Hope", "Faith", "Grace", "Mercy", "Trouble", "Danger", "Escape", "Runaway", "Stranger", "Lover", "Friend", "Brother", "Sister", "Mother", "Father", "Children", "Soldier", "King", "Queen", "Prince", "Coração", "Café", "Niño", "Über", "Señorita", "Été"]
TITLE_FORMS = ("{w}", "{w} {w}", "The {w}", "{w} of {w}", "My {w}", "{w} {w} {w}", "In the {w}", "{w} and {w}",
                "Don't {w}", "I'm {w}", "{w} (Album Version)", "{w} {w} (Live)", "{w}/{w}", "{w} #{n}",
                "{w} {w} (Remix)", "{w} - Remastered", "\"{w}\"", "You {w} Me", "{w} Is {w}", "Rock'n'{w}")
FIRST_NAMES_F = ("Lily", "Kaylee", "Jacqueline", "Chloe", "Tegan", "Ava", "Jayden", "Harper", "Layla", "Sophia",
            "Olivia", "Emma", "Isabella", "Mia", "Amelia", "Evelyn", "Abigail", "Emily", "Ella", "Madison", "Zoë",
            "Renée", "Stefany", "Anabelle", "Rylan", "Morris", "Celeste", "Aleena", "Kinsley", "Jordyn")
FIRST_NAMES_M = ("Walter", "Ryan", "Jacob", "Lucas", "Aiden", "Mohammad", "Wyatt", "Noah", "Liam", "Ethan", "Mason",
            "Logan", "Elijah", "Oliver", "James", "Benjamin", "Carter", "Owen", "Dylan", "Kevin", "José", "Jürgen",
            "Theodore", "Cienna", "Alivia", "Brayden", "Sebastian", "Connar", "Colm", "Tucker")
LAST_NAMES = ("Frye", "Summers", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lynch",
         "Koch", "Cruz", "Ramos", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
         "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark",
         "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill",
         "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Muñoz",
         "Sørensen", "O'Brien", "Dubois", "Schäfer", "Kowalski", "Ødegaard", "Silva")
BAND_NOUNS = ("Wolves", "Kings", "Strangers", "Machines", "Rebels", "Saints", "Ghosts", "Lovers", "Tigers",
               "Pilots", "Shadows", "Dreamers", "Brothers", "Sisters", "Angels", "Outlaws", "Rockets", "Monkeys",
               "Drifters", "Hearts", "Crows", "Knights", "Horses", "Giants", "Stars", "Bandits", "Orchestra",
               "Quartet", "Collective", "Experience", "Project", "Sound System", "Band", "Trio")
BAND_ADJECTIVES = ("Black", "White", "Electric", "Silver", "Golden", "Crazy", "Wild", "Lonely", "Midnight", "Velvet",
             "Broken", "Flying", "Burning", "Sonic", "Atomic", "Holy", "Little", "Big", "Red", "Blue")
CITIES = (  # (artist_location, latitude, longitude) of song files
    ("New York, NY", 40.71455, -74.00712), ("Los Angeles, CA", 34.05349, -118.24532),
    ("London, England", 51.50632, -0.12714), ("Chicago, IL", 41.88415, -87.63241),
    ("Memphis, TN", 35.14968, -90.04892), ("San Francisco, CA", 37.77916, -122.42005),
    ("Nashville, TN", 36.16778, -86.77836), ("Atlanta, GA", 33.74831, -84.39111),
    ("Seattle, WA", 47.60356, -122.32944), ("Detroit, MI", 42.33168, -83.04792),
    ("Austin, TX", 30.26759, -97.74299), ("Berlin, Germany", 52.51607, 13.37698),
    ("Paris, France", 48.85693, 2.3412), ("Stockholm, Sweden", 59.33217, 18.06243),
    ("Toronto, Ontario, Canada", 43.64856, -79.38533), ("Montreal, Quebec, Canada", 45.51228, -73.55439),
    ("Kingston, Jamaica", 17.99702, -76.79358), ("Dublin, Ireland", 53.34376, -6.24953),
    ("Manchester, England", 53.47947, -2.24873), ("Glasgow, Scotland", 55.85729, -4.24232),
    ("Sydney, Australia", -33.86963, 151.20695), ("Reykjavík, Iceland", 64.13554, -21.89541),
    ("Rio de Janeiro, Brazil", -22.97673, -43.19508), ("Mexico City, Mexico", 19.43196, -99.13315),
    ("New Orleans, LA", 29.95369, -90.07771), ("Philadelphia, PA", 39.95227, -75.16237),
    ("Boston, MA", 42.31256, -71.08868), ("Houston, TX", 29.76045, -95.36978),
    ("Brooklyn, NY", 40.65507, -73.94888), ("Minneapolis, MN", 44.97903, -93.26493),
    ("Tokyo, Japan", 35.68344, 139.73355), ("Oslo, Norway", 59.91228, 10.74998),
    ("Bristol, England", 51.45369, -2.59109), ("Athens, GA", 33.95987, -83.37592),
    ("Kansas City, MO", 39.10295, -94.58306), ("Birmingham, England", 52.47859, -1.90885),
)
LOCATION_ONLY = ("California - LA", "Great Britain / UK", "Texas", "Nebraska", "England", "Germany",
                  "Brooklyn, NY / Boston, MA", "US", "Bay Area, CA", "Canada")
USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA", "Phoenix-Mesa-Scottsdale, AZ", "New York-Newark-Jersey City, NY-NJ-PA",
    "Los Angeles-Long Beach-Anaheim, CA", "Chicago-Naperville-Elgin, IL-IN-WI", "Atlanta-Sandy Springs-Roswell, GA",
    "Dallas-Fort Worth-Arlington, TX", "Houston-The Woodlands-Sugar Land, TX", "Seattle-Tacoma-Bellevue, WA",
    "Miami-Fort Lauderdale-West Palm Beach, FL", "Philadelphia-Camden-Wilmington, PA-NJ-DE-MD",
    "Washington-Arlington-Alexandria, DC-VA-MD-WV", "Detroit-Warren-Dearborn, MI", "Lansing-East Lansing, MI",
    "Minneapolis-St. Paul-Bloomington, MN-WI", "Tampa-St. Petersburg-Clearwater, FL", "St. Louis, MO-IL",
    "San Jose-Sunnyvale-Santa Clara, CA", "San Diego-Carlsbad, CA", "Sacramento--Roseville--Arden-Arcade, CA",
    "Portland-Vancouver-Hillsboro, OR-WA", "Portland-South Portland, ME", "Salt Lake City, UT", "Eugene, OR",
    "Nashville-Davidson--Murfreesboro--Franklin, TN", "New Orleans-Metairie, LA", "Indianapolis-Carmel-Anderson, IN",
    "Milwaukee-Waukesha-West Allis, WI", "Birmingham-Hoover, AL", "Raleigh, NC", "Richmond, VA", "Columbia, SC",
    "Winston-Salem, NC", "San Antonio-New Braunfels, TX", "Lubbock, TX", "Longview, TX", "Las Cruces, NM",
    "Red Bluff, CA", "Santa Rosa, CA", "Salinas, CA", "Yuba City, CA", "Oxnard-Thousand Oaks-Ventura, CA",
    "Elkhart-Goshen, IN", "Plymouth, IN", "Cedar Rapids, IA", "Waterloo-Cedar Falls, IA", "Klamath Falls, OR",
    "Janesville-Beloit, WI", "La Crosse-Onalaska, WI-MN", "Marinette, WI-MI", "London, KY", "Saginaw, MI",
    "Harrisburg-Carlisle, PA", "Youngstown-Warren-Boardman, OH-PA", "New Haven-Milford, CT",
    "Augusta-Richmond County, GA-SC", "Myrtle Beach-Conway-North Myrtle Beach, SC-NC", "Ogden-Clearfield, UT",
    "Pensacola-Ferry Pass-Brent, FL", "Parkersburg-Vienna, WV", "Lake Havasu City-Kingman, AZ", "Palestine, TX",
)
USER_AGENTS = (  # written with literal quotes when they contain a comma, as in the bucket's logs
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/36.0.1985.143 Safari/537.36"),
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36",
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.78.2 (KHTML, like Gecko) "
     "Version/7.0.6 Safari/537.78.2"),
    "Mozilla/5.0 (Windows NT 5.1; rv:31.0) Gecko/20100101 Firefox/31.0",
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu "
     "Chromium/36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36"),
    "Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) "
     "Version/7.0 Mobile/11D257 Safari/9537.53"),
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062.103 Safari/537.36",
    "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; WOW64; Trident/6.0)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10) AppleWebKit/538.46 (KHTML, like Gecko) Version/8.0 Safari/538.46",
    "Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_3) AppleWebKit/537.75.14 (KHTML, like Gecko) "
     "Version/7.0.3 Safari/537.75.14"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.7; rv:31.0) Gecko/20100101 Firefox/31.0",
)
TRACK_MIDDLES = ("128F4", "128F9", "12903", "128F1", "128E0", "128EF", "128F4", "128F9", "12903")
SONG_MIDDLES = ("12A8C", "12AB0", "12A6D", "12A58", "12AF7", "12AC4", "12A67", "12B0A")
ARTIST_MIDDLES = ("1187B9", "1187FB", "1187B9", "1187FB", "12454B", "122989")
